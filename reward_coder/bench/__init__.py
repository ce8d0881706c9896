"""`reward-coder bench SUITE`: train every task of a suite with the env's own (expert) reward, a sparse
success-only reward and each reward under test, with the same algorithm, budget and seeds; report success
over seeds, Eureka's human-normalized score and learning curves.

- suite.py: the suite file (YAML) -> Suite, rewards resolved (foreign ones converted)
- score.py: pure arithmetic and tables (normalized score, spread over seeds, CSV, markdown)
- runner.py: jobs, sandboxed checks, parallel training through reward_coder.train, resume, results
- html.py: the self-contained report.html

Nothing here imports stable-baselines3; training goes through reward_coder.train.sb3.train_candidate.
"""
