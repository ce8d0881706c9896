"""The loop's orchestration: selection by the task metric, pruning, dedupe, critic, feedback, resume, budget.

Training is replaced by a stand-in trainer whose result is written in the candidate's code (a comment
`FAKE_SUCCESS = 0.8`), so these tests check orchestration quickly; tests/train checks real training.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from reward_coder.config import RunConfig
from reward_coder.llm import JournalingCompleter, ScriptedCompleter
from reward_coder.loop import BudgetedCompleter, BudgetExceeded, LoopServices, run_loop, start_run
from reward_coder.store import RunStore
from reward_coder.tasks import resolve_task
from reward_coder.train.executor import InlineExecutor
from reward_coder.outcomes import CurvePoint, TrainOutcome
from reward_coder.train.sb3 import TrainJob
from reward_coder.types import CheckReport, Completion

TRAINED: list[tuple[str, int]] = []


def fake_train(job: TrainJob) -> TrainOutcome:
    """Success taken from the code; its own reward is huge when it says so (selection must ignore it)."""
    TRAINED.append((job.candidate_id, job.total_timesteps))
    success = float(re.search(r"FAKE_SUCCESS = ([0-9.]+)", job.code).group(1))
    if "fake-crash" in job.code:
        return TrainOutcome(job.candidate_id, "reward_failed", 100, failure="non-finite reward (NaN)", failure_step=100)
    episodes = [
        dict(length=200, terminated=False, native_return=-200.0, success=i < success * 10, metric=success,
             field_means={}, field_finals={}, term_sums={})
        for i in range(10)
    ]
    evaluation = dict(success_rate=success, metric_mean=success, native_return_mean=-200.0, native_return_std=0.0,
                      length_mean=200.0, episodes=episodes,
                      term_stats={"height": dict(mean=1e6 if "huge-own-reward" in job.code else 0.5, std=0.1,
                                                 min=0.0, max=1.0, abs_mean=0.5)})
    curve_match = re.search(r"curve-([0-9.]+)", job.code)
    curve = ()
    if curve_match:  # the learning-curve evaluations disagree with the final one (a selection trap)
        rate = float(curve_match.group(1))
        curve = (CurvePoint(job.total_timesteps, rate, rate, -200.0, 200.0, 1.0),)
    return TrainOutcome(job.candidate_id, "ok", job.total_timesteps, eval=evaluation, curve=curve, seed=job.seed,
                        eval_seed=job.eval_seed)


def reward(success: float, extra: str = "") -> str:
    """A candidate whose (fake) training success is the constant in its code; `extra` adds markers."""
    return (
        "```python\nimport numpy as np\n\n"
        f"FAKE_SUCCESS = {success}\nMARKERS = '{extra}'\n\n"
        "def compute_reward(state, action, next_state):\n"
        "    height = next_state.cos_theta\n"
        "    return height, {'height': height}\n```"
    )


def ok_check(code: str) -> CheckReport:
    return CheckReport(ok="BROKEN" not in code, issues=())


@pytest.fixture(autouse=True)
def _clear():
    TRAINED.clear()


def make(tmp_path, responses, **config_changes):
    task = resolve_task("pendulum/swing-up", None, None)
    settings = dict(samples=3, iterations=2, critic=False, total_timesteps=8_000, final_seeds=0) | config_changes
    config = RunConfig(instruction=task.instruction, env="pendulum", task=task.key, model="scripted", **settings)
    store = RunStore.create(tmp_path / "run")
    scripted = ScriptedCompleter(responses)
    journal = JournalingCompleter(scripted, sink=lambda r: store.append_jsonl("llm_journal.jsonl", r))
    services = LoopServices(completer=BudgetedCompleter(journal, config.max_cost_usd), executor=InlineExecutor(),
                            store=store, on_event=lambda *a, **k: None, train=fake_train)
    task = start_run(config, task, store, services.completer)
    return config, task, services, scripted


def test_selection_uses_the_task_metric_not_the_candidates_reward(tmp_path):
    responses = [[reward(0.2, "huge-own-reward"), reward(0.9), reward(0.5)], [reward(0.3), reward(0.4), reward(0.1)]]
    config, task, services, _ = make(tmp_path, responses)
    state = run_loop(config, task, services, ok_check)
    assert state["status"] == "finished"
    assert state["best"]["candidate"] == "i0-c1"
    assert "FAKE_SUCCESS = 0.9" in services.store.read_text("best.py")
    second = services.store.read_json("iterations/1/summary.json")
    assert second["best_candidate"] == "i1-c1" and not second["improved_overall_best"]


def test_pruning_stops_weak_candidates_early(tmp_path):
    config, task, services, _ = make(tmp_path, [[reward(0.1), reward(0.9), reward(0.5)]], iterations=1)
    run_loop(config, task, services, ok_check)
    budgets = {}
    for cid, steps in TRAINED:
        budgets.setdefault(cid, []).append(steps)
    assert max(budgets["i0-c1"]) > max(budgets["i0-c0"])  # the best reaches a later rung
    summary = services.store.read_json("iterations/0/summary.json")
    assert {c["id"]: c["pruned_at_rung"] for c in summary["candidates"]}["i0-c0"] == 0
    # training resumes from the last rung's checkpoint, so a candidate costs its furthest budget
    total = sum(max(steps) for steps in budgets.values())
    assert total < 3 * max(budgets["i0-c1"])  # less than training all three fully


def test_identical_candidates_train_once(tmp_path):
    same = reward(0.7)
    reformatted = same.replace("    height = next_state.cos_theta\n", "\n    height = next_state.cos_theta  # same\n")
    config, task, services, _ = make(tmp_path, [[same, reformatted, reward(0.1)]], iterations=1)
    run_loop(config, task, services, ok_check)
    assert {cid for cid, _ in TRAINED} == {"i0-c0", "i0-c2"}
    summary = services.store.read_json("iterations/0/summary.json")
    assert {c["id"]: c["same_as"] for c in summary["candidates"]}["i0-c1"] == "i0-c0"


def test_failures_of_every_candidate_reach_the_next_designer_prompt(tmp_path):
    broken = reward(0.5).replace("import numpy", "# BROKEN\nimport numpy")
    responses = [
        [reward(0.6), reward(0.2, "fake-crash"), broken],
        [reward(0.3)],  # repair of c2: still fine to use
        [reward(0.7), reward(0.7), reward(0.7)],
    ]
    config, task, services, scripted = make(tmp_path, responses, repair_attempts=1)
    run_loop(config, task, services, ok_check)
    designer_prompts = [r for r in scripted.requests if r.purpose == "designer"]
    second_user = designer_prompts[1].messages[1].content
    assert "i0-c1" in second_user and "non-finite reward" in second_user  # training failure fed back
    assert "i0-c0" in second_user and "Success rate: 0.60" in second_user
    assert "i0-c2" in second_user  # the repaired candidate too, not only the best
    assert "The best reward so far" in second_user


def test_resume_after_an_interruption_redoes_nothing_finished(tmp_path):
    config, task, services, scripted = make(tmp_path, [[reward(0.2), reward(0.9), reward(0.5)], [reward(0.95)] * 3])
    calls = {"n": 0}

    def flaky_train(job):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return fake_train(job)

    services.train = flaky_train
    with pytest.raises(KeyboardInterrupt):
        run_loop(config, task, services, ok_check)
    assert services.store.read_json("state.json")["status"] == "interrupted"
    trained_before = list(TRAINED)
    TRAINED.clear()
    services.train = fake_train
    state = run_loop(config, task, services, ok_check)
    assert state["status"] == "finished"
    # the three rung-0 results were stored: none is trained again after the interruption
    assert not set(TRAINED) & {(cid, steps) for cid, steps in trained_before}
    assert sum(1 for r in scripted.requests if r.purpose == "designer") == 2  # design of iteration 0 not asked again
    assert state["best"]["candidate"] == "i1-c0"


def test_budget_stops_cleanly_before_spending_more(tmp_path):
    class Paid(ScriptedCompleter):
        def complete(self, request):
            done = super().complete(request)
            return Completion(done.samples, "paid", cost_usd=0.6)

    task = resolve_task("pendulum/swing-up", None, None)
    config = RunConfig(instruction=task.instruction, env="pendulum", task=task.key, model="paid", samples=3,
                       iterations=3, critic=False, total_timesteps=8_000, max_cost_usd=1.0)
    store = RunStore.create(tmp_path / "run")
    journal = JournalingCompleter(Paid([[reward(0.5)] * 3, [reward(0.6)] * 3, [reward(0.7)] * 3]), sink=lambda r: None)
    services = LoopServices(BudgetedCompleter(journal, 1.0), InlineExecutor(), store, lambda *a, **k: None, train=fake_train)
    start_run(config, task, store)
    with pytest.raises(BudgetExceeded, match="--max-cost"):
        run_loop(config, task, services, ok_check)
    assert journal.total_cost_usd == pytest.approx(0.6)  # the second call (another 0.6) was never made
    state = store.read_json("state.json")
    assert state["status"] == "stopped" and state["iterations_done"] == 1


def test_human_feedback_goes_into_the_next_prompt(tmp_path):
    config, task, services, scripted = make(tmp_path, [[reward(0.4)] * 3, [reward(0.8)] * 3])
    services.ask_feedback = lambda summary: "it spins at the top; penalize angular velocity there"
    run_loop(config, task, services, ok_check)
    second = [r for r in scripted.requests if r.purpose == "designer"][1].messages[1].content
    assert "## Feedback from the user\n- it spins at the top; penalize angular velocity there" in second
    assert services.store.read_text("iterations/1/feedback.txt").startswith("it spins")


def test_critic_revision_is_taken_only_when_it_passes_the_checks(tmp_path):
    revised_good = "VERDICT: revise\nNOTES:\n- 'height' should be damped\n" + reward(0.8)
    revised_bad = "VERDICT: revise\nNOTES:\n- rewrite\n" + reward(0.8).replace("import numpy", "# BROKEN\nimport numpy")
    responses = [
        [reward(0.3), reward(0.2), reward(0.1)],
        [revised_good], ["VERDICT: accept\nNOTES:\n- fine now"],  # c0: revised, then re-reviewed
        [revised_bad],  # c1: revision fails the checks -> original kept
        ["VERDICT: accept\nNOTES:\n- ok"],  # c2
    ]
    config, task, services, _ = make(tmp_path, responses, iterations=1, critic=True)
    run_loop(config, task, services, ok_check)
    critic = services.store.read_json("iterations/0/critic.json")
    statuses = [(r["candidate_id"], r["verdict"], r["revision_status"].split(":")[0]) for r in critic["reviews"]]
    assert statuses == [("i0-c0", "revise", "taken"), ("i0-c0", "accept", ""), ("i0-c1", "revise", "not taken"),
                        ("i0-c2", "accept", "")]
    assert "FAKE_SUCCESS = 0.8" in services.store.read_text("iterations/0/candidates/i0-c0.py")
    assert "FAKE_SUCCESS = 0.2" in services.store.read_text("iterations/0/candidates/i0-c1.py")
    assert services.store.read_json("best.json")["candidate"] == "i0-c0"


def test_free_text_task_gets_a_proposed_metric_recorded_as_such(tmp_path):
    task = resolve_task(None, "keep the pole spinning slowly", "pendulum")
    config = RunConfig(instruction=task.instruction, env="pendulum", model="scripted", samples=1, iterations=1, critic=False)
    store = RunStore.create(tmp_path / "run")
    proposal = '{"kind": "field_mean_above", "params": {"field": "angular_velocity", "threshold": 1.0, "abs": true}, "description": "mean |angular velocity| at least 1 rad/s"}'
    task = start_run(config, task, store, ScriptedCompleter([[proposal]]))
    saved = store.read_json("task.json")
    assert saved["success"]["written_by"] == "llm" and "proposed by the LLM" in saved["metric_source"]
    assert task.success.params["field"] == "angular_velocity"


def test_an_unusable_proposed_metric_falls_back_to_the_card_default(tmp_path):
    task = resolve_task(None, "do something clever", "pendulum")
    config = RunConfig(instruction=task.instruction, env="pendulum", model="scripted", samples=1, iterations=1, critic=False)
    store = RunStore.create(tmp_path / "run")
    task = start_run(config, task, store, ScriptedCompleter([['{"kind": "field_mean_above", "params": {"field": "wingspan", "threshold": 1}}']]))
    saved = store.read_json("task.json")
    assert saved["metric_source"].startswith("card default") and "wingspan" in saved["metric_source"]
    assert task.success == task.card.success


def test_llm_analysis_adds_a_diagnosis_to_the_measurements(tmp_path):
    responses = [[reward(0.2), reward(0.6), reward(0.4)],
                 ["It never reaches the top."], ["It holds the top in most episodes."], ["It swings but falls back."]]
    config, task, services, scripted = make(tmp_path, responses, iterations=1, llm_analysis=True)
    run_loop(config, task, services, ok_check)
    analyzer = [r for r in scripted.requests if r.purpose == "analyzer"]
    assert [r.label for r in analyzer] == ["i0-c0", "i0-c1", "i0-c2"]
    assert "succeeded in 6/10 evaluation episodes" in analyzer[1].messages[0].content  # the facts go in
    analysis = services.store.read_text("iterations/0/analysis.md")
    assert "Diagnosis: It holds the top in most episodes." in analysis


def test_an_llm_outage_stops_resumably_and_resume_continues(tmp_path):
    from reward_coder.errors import LLMUnavailableError

    outage = LLMUnavailableError("http://llm:8000 could not be reached after 5 attempts")
    config, task, services, scripted = make(tmp_path, [[reward(0.3)] * 3, outage])
    with pytest.raises(LLMUnavailableError):
        run_loop(config, task, services, ok_check)
    state = services.store.read_json("state.json")
    assert state["status"] == "interrupted" and "could not be reached" in state["reason"]
    assert state["iterations_done"] == 1  # the finished iteration is kept
    trained = list(TRAINED)
    scripted.add([reward(0.8)] * 3)
    state = run_loop(config, task, services, ok_check)
    assert state["status"] == "finished" and state["best"]["candidate"] == "i1-c0"
    assert [cid for cid, _ in TRAINED[len(trained):]] and all(cid.startswith("i1") for cid, _ in TRAINED[len(trained):])


def test_check_warnings_and_critic_notes_of_every_candidate_reach_the_next_prompt(tmp_path):
    from reward_coder.types import CheckIssue

    def warn_check(code: str) -> CheckReport:
        issues = (CheckIssue("constant-term", "term 'bonus' is 0 on all 512 sampled states", "warning", term="bonus"),)
        return CheckReport(ok=True, issues=issues if "0.2" in code else ())

    responses = [
        [reward(0.2), reward(0.6), reward(0.4)],
        ["VERDICT: accept\nNOTES:\n- 'height' ignores the swing-up phase"],
        ["VERDICT: accept\nNOTES:\n- fine"],
        ["VERDICT: accept\nNOTES:\n- the velocity term may reward spinning"],
        [reward(0.9)] * 3,
        ["VERDICT: accept\nNOTES:\n- ok"]] + [["VERDICT: accept\nNOTES:\n- ok"]] * 2
    config, task, services, scripted = make(tmp_path, responses, critic=True)
    run_loop(config, task, services, warn_check)
    second = [r for r in scripted.requests if r.purpose == "designer"][1].messages[1].content
    assert "term 'bonus' is 0 on all 512 sampled states" in second  # a check warning of i0-c0
    assert "'height' ignores the swing-up phase" in second  # critic note of i0-c0 (not the best)
    assert "the velocity term may reward spinning" in second  # critic note of i0-c2


def test_finalists_are_retrained_on_fresh_seeds_and_reported_on_held_out_episodes(tmp_path):
    # c0 looks best in the iteration and in its held-out final evaluation, but its learning-curve
    # evaluations on the fresh seeds say 0.3; c1's say 0.6. The choice must use the curve (never the
    # held-out episodes it then reports), so c1 wins and its held-out 0.5 is what best.json says.
    responses = [[reward(0.9, "curve-0.3"), reward(0.5, "curve-0.6"), reward(0.1)]]
    config, task, services, _ = make(tmp_path, responses, iterations=1, final_seeds=3, finalists=2)
    run_loop(config, task, services, ok_check)
    finals = [(cid, steps) for cid, steps in TRAINED if ".s" in cid]
    assert sorted(cid for cid, _ in finals) == sorted(
        f"0-i0-c{c}.s{seed}" for c in (0, 1) for seed in (1000, 2000, 3000))
    assert all(steps == 8_000 for _, steps in finals)  # the full budget, no pruning
    best = services.store.read_json("best.json")
    assert best["candidate"] == "i0-c1"
    assert "FAKE_SUCCESS = 0.5" in services.store.read_text("best.py")
    final = best["final"]
    assert final["seeds"] == [1000, 2000, 3000] and final["ok_seeds"] == 3
    assert final["held_out"]["success_rate"]["n"] == 3
    assert final["held_out"]["success_rate"]["mean"] == pytest.approx(0.5)
    assert final["episodes_per_seed"] == 10
    # held-out evaluation seeds are never the ones selection evaluated on (10_000 / 20_000 + seed)
    assert all(seed >= 900_000 for seed in final["eval_seeds"])
    # resuming does not retrain finished finals
    TRAINED.clear()
    run_loop(config, task, services, ok_check)
    assert not [cid for cid, _ in TRAINED if ".s" in cid]


def test_when_nothing_trained_the_next_prompt_asks_to_fix_the_errors_not_to_analyse_policies(tmp_path):
    broken = reward(0.5).replace("import numpy", "# BROKEN\nimport numpy")
    no_code = "I would reward the pendulum for being upright."
    responses = [[broken, no_code], [broken], [no_code], [reward(0.7), reward(0.6)],
                 ["It holds the top."], ["It holds the top less often."]]
    config, task, services, scripted = make(tmp_path, responses, samples=2, llm_analysis=True, repair_attempts=1)

    def check_naming_the_error(code: str) -> CheckReport:
        from reward_coder.types import CheckIssue

        issues = (CheckIssue("unknown-field", "'next_state.angle' is not a field", line=3),) if "BROKEN" in code else ()
        return CheckReport(ok=not issues, issues=issues)

    run_loop(config, task, services, check_naming_the_error)
    second = [r for r in scripted.requests if r.purpose == "designer"][1].messages[1].content
    results = second.split("## Results of the last iteration")[1]
    assert "No reward function of the last iteration was trained, so there is no policy to analyse" in results
    assert "was trained with" not in results and "Analyse why the policies" not in results
    assert "### i0-c0\nfailed the checks on real states: line " in results
    assert "'next_state.angle' is not a field (unknown-field) (the repair repeated the code" in results
    assert "### i0-c1\nno usable code in the answer: no_code:" in results
    assert "Fix the errors stated above" in results
    # the analyzer is not asked about nothing, and the record says why there is no analysis
    assert not [r for r in scripted.requests if r.purpose == "analyzer" and r.iteration == 0]
    analysis = services.store.read_text("iterations/0/analysis.md")
    assert analysis.startswith("No candidate was trained in this iteration, so there is no policy to analyse")
    assert "the analyzer LLM was not asked" in analysis and "- **i0-c1**: no usable code" in analysis
    summary = services.store.read_json("iterations/0/summary.json")
    assert summary["trained"] is False and summary["analyzer"] == "not asked: no candidate trained"
    assert all(c["not_trained_because"] for c in summary["candidates"])
    # the iteration that did train is analysed as before
    assert services.store.read_json("iterations/1/summary.json")["trained"] is True
    assert [r.label for r in scripted.requests if r.purpose == "analyzer"] == ["i1-c0", "i1-c1"]


def test_when_every_candidate_crashes_in_training_the_feedback_names_the_crash(tmp_path):
    responses = [[reward(0.2, "fake-crash"), reward(0.3, "fake-crash")], [reward(0.7), reward(0.7)]]
    config, task, services, scripted = make(tmp_path, responses, samples=2)
    run_loop(config, task, services, ok_check)
    second = [r for r in scripted.requests if r.purpose == "designer"][1].messages[1].content
    assert "there is no policy to analyse" in second and "Analyse why the policies" not in second
    assert "### i0-c0\nthe reward failed during training: training stopped at env step 100" in second
    assert "non-finite reward (NaN)" in second
    summary = services.store.read_json("iterations/0/summary.json")
    assert [c["training"] for c in summary["candidates"]] == ["reward_failed", "reward_failed"]
    assert summary["candidates"][0]["not_trained_because"].startswith("the reward failed during training")


def test_when_some_trained_the_feedback_still_analyses_the_policies(tmp_path):
    broken = reward(0.5).replace("import numpy", "# BROKEN\nimport numpy")
    responses = [[reward(0.6), broken], [broken], [reward(0.7), reward(0.7)]]
    config, task, services, scripted = make(tmp_path, responses, samples=2)
    run_loop(config, task, services, ok_check)
    second = [r for r in scripted.requests if r.purpose == "designer"][1].messages[1].content
    assert "Each candidate below that passed the checks was trained with PPO" in second
    assert "Analyse why the policies did or did not succeed" in second
    assert "there is no policy to analyse" not in second
