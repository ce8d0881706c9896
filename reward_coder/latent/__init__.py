"""Latent mode (LaRe): LLM-written latent task factors, self-verification, and a reward decoder trained by
randomized return decomposition on tasks whose reward arrives only at the episode's end.

- episodic.py: the delayed-reward wrapper and the `*-episodic` task convention;
- factors.py: the factor contract (FACTORS + compute_factors) and its checks through the reward sandbox;
- design.py: K factor samples, checked, merged by the verifier prompt, checked again;
- decoder.py: the torch decoder, its episode store, attributions and checkpoints;
- relabel.py: the SB3 callback that fits the decoder and relabels the replay buffer;
- train.py: SAC with latent / rrd / ircr / episodic / dense rewards, resumable;
- loop.py: `reward-coder run --mode latent`.
"""
