"""`reward-coder bench perf`: each comparison measured side by side, its figures computed from what was measured."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from reward_coder.bench import perf
from reward_coder.bench.perf import PerfSettings, run_perf, standin_candidates
from reward_coder.cli.main import app


@pytest.mark.parametrize("card_id", ["pendulum", "cartpole"])
def test_the_standin_set_has_known_quality_and_every_file_is_a_valid_reward(card_id):
    from reward_coder.envs import get_card, sample_transitions
    from reward_coder.reward.compile import InProcessReward

    candidates = standin_candidates(f"perf-{card_id}-")
    qualities = [c.quality for c in candidates]
    assert qualities.count("good") >= 2 and qualities.count("bad") >= 3 and "unknown" not in qualities
    card = get_card(card_id)
    batch = sample_transitions(card, n_envs=4, n_steps=2, seed=0, policies=("random",))

    for c in candidates:
        reward, terms = InProcessReward(c.code, card.field_names())(batch.state, batch.action, batch.next_state)
        assert reward.shape == (len(batch.action),) and terms, c.id


def test_extra_standins_join_only_when_named_in_the_order_given_and_are_valid_rewards():
    from reward_coder.envs import get_card, sample_transitions
    from reward_coder.reward.compile import InProcessReward

    default = [c.id for c in standin_candidates()]
    assert "10-energy" not in default and len(default) == 8
    one_good = ("1-shaped", "5-hanging", "6-constant", "7-spin", "8-still", "9-heavy-effort", "10-energy", "11-damped")
    chosen = standin_candidates(ids=one_good)
    assert tuple(c.id for c in chosen) == one_good
    assert [c.quality for c in chosen].count("good") == 1 and "unknown" not in [c.quality for c in chosen]
    card = get_card("pendulum")
    batch = sample_transitions(card, n_envs=4, n_steps=2, seed=0, policies=("random",))
    for c in chosen[5:]:
        reward, terms = InProcessReward(c.code, card.field_names())(batch.state, batch.action, batch.next_state)
        assert reward.shape == (len(batch.action),) and np.all(np.isfinite(reward)) and terms, c.id
    with pytest.raises(FileNotFoundError, match="unknown 12-nope; known: 1-shaped"):
        standin_candidates(ids=("1-shaped", "12-nope"))
    with pytest.raises(FileNotFoundError, match="each id once"):
        standin_candidates(ids=("1-shaped", "1-shaped"))
    settings = PerfSettings(candidate_ids=one_good[:3])
    assert [c.id for c in perf.chosen_candidates(settings)] == list(one_good[:3])


def test_parallel_and_halving_sections_are_measured_and_their_ratios_follow_from_the_figures(tmp_path):
    settings = PerfSettings.quick(sections=("parallel", "halving"), max_candidates=2, parallel_timesteps=512,
                                  halving_timesteps=4_096, halving_screened=True)
    messages = []
    result = run_perf(settings, tmp_path, on_progress=messages.append)
    parallel = result["sections"]["parallel"]
    assert parallel["status"] == "ok", parallel
    assert parallel["speedup"] == pytest.approx(parallel["serial_s"] / parallel["parallel_s"])
    assert parallel["statuses"] == {"serial": ["ok", "ok"], "parallel": ["ok", "ok"]}
    assert parallel["met"] == (parallel["speedup"] >= 1.8)
    halving = result["sections"]["halving"]
    assert halving["status"] == "ok", halving
    seed = halving["per_seed"][0]
    assert seed["full"]["steps"] == 2 * 4_096 and seed["full"]["winner"] in {"1-shaped", "2-height"}
    run = seed["halving"]["3"]
    assert run["steps_fraction"] == pytest.approx(run["steps"] / seed["full"]["steps"])
    assert run["same_winner"] == (run["winner"] == seed["full"]["winner"])
    assert run["finalists"][0] == run["winner"] and len(run["finalists"]) <= settings.finalists
    assert run["finalists_hold_winner"] == (seed["full"]["winner"] in run["finalists"])
    assert halving["over_seeds"]["best"] == seed["full"]["winner"]  # one seed: its own winner
    assert halving["by_rungs"]["3"]["picks_as_good_over_seeds_count"] == int(run["winner"] in halving["over_seeds"]["as_good_as_best"])
    # screening first: both stand-ins are sound, so both are kept, and halving them is the plain arm's run
    assert halving["screened"]["kept"] == ["1-shaped", "2-height"] and halving["screened"]["sandbox_s"] > 0
    screened = seed["halving"]["screen+3"]
    assert screened["same_as"] == "3" and screened["winner"] == run["winner"] and screened["steps"] == run["steps"]
    assert set(halving["by_rungs"]) == {"3", "screen+3"}
    # written after every section, json and html, and the html shows the measured row
    saved = json.loads((tmp_path / "perf.json").read_text())
    assert set(saved["sections"]) == {"parallel", "halving"} and "finished" in saved
    page = (tmp_path / "perf.html").read_text()
    assert "serial" in page and "hand-written stand-in" in page
    assert any("halving: seed 0" in m for m in messages)


def test_screening_before_halving_keeps_the_sound_standins_and_drops_the_reward_for_hanging():
    from reward_coder.tasks import resolve_task

    settings = PerfSettings.quick(screening_episodes=4)
    screened = perf._screen_standins(settings, resolve_task(settings.task, None, None), standin_candidates())
    assert {"1-shaped", "2-height", "3-angle"} <= set(screened["kept"]) and "5-hanging" in screened["screened_out"]
    assert set(screened["kept"]) | set(screened["screened_out"]) == {c.id for c in standin_candidates()}
    assert screened["episodes"] == 4 * 5 and screened["sandbox_s"] > 0


def test_a_crashed_section_is_shown_as_crashed_not_as_a_zero_and_the_others_still_run(tmp_path, monkeypatch):
    def boom(settings, out, say):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(perf.RUNNERS, "overhead", boom)
    monkeypatch.setitem(perf.RUNNERS, "screening", lambda s, o, say: {"screened_out": [], "bad": 3, "bad_removed": 1,
                                                                       "good": 2, "good_lost": 0, "target": "t",
                                                                       "met": True})
    result = run_perf(PerfSettings(sections=("overhead", "screening")), tmp_path)
    assert result["sections"]["overhead"]["status"] == "crashed"
    assert "disk on fire" in result["sections"]["overhead"]["error"] and result["sections"]["overhead"]["met"] is None
    rows = dict((name, (text, met)) for name, text, _target, met in perf.headline(result))
    assert rows["overhead"] == ("crashed: RuntimeError: disk on fire", "not measured")
    assert rows["screening"][1] == "yes"


def test_shared_replay_is_summed_over_seeds_and_a_seed_without_winner_counts_against_the_target(tmp_path, monkeypatch):
    from reward_coder.train import shared_replay

    calls = []

    def fake_compare(task, codes, *, timesteps, seed, out_dir, eval_episodes, on_progress):
        calls.append((seed, sorted(codes), timesteps))
        crashed = seed == 1  # every shared learner crashed on seed 1: no winner there
        return {"shared": {"env_steps": timesteps, "wall_s": 10.0, "winner": None if crashed else "2-height",
                           "winner_success": None if crashed else 1.0},
                "separate": {"env_steps": 4 * timesteps, "wall_s": 30.0, "winner": "2-height", "winner_success": 0.8}}

    monkeypatch.setattr(shared_replay, "compare_shared_vs_separate", fake_compare)
    settings = PerfSettings.quick(sections=("shared_replay",), shared_candidates=4, shared_seeds=(0, 1))
    section = run_perf(settings, tmp_path)["sections"]["shared_replay"]
    assert section["status"] == "ok", section
    assert [seed for seed, _, _ in calls] == [0, 1] and len(calls[0][1]) == 4
    assert section["env_steps_fraction"] == pytest.approx(0.25)
    assert section["winner_success_not_lower"] == "1/2" and section["same_winner"] == "1/2" and section["met"] is False
    rows = {name: text for name, text, _t, _m in perf.headline({"sections": {"shared_replay": section}})}
    assert "winner success shared 1.00/crashed vs separate 0.80/0.80" in rows["shared_replay"]


def test_another_task_trains_its_own_standins_with_its_cards_budget_and_refuses_pendulum_only_sections(tmp_path):
    settings = perf.for_task(PerfSettings(sections=("parallel", "halving")), "cartpole/balance")
    assert settings.task == "cartpole/balance" and settings.halving_timesteps == 100_000
    assert not settings.halving_screened  # no scripted policies of known outcome to screen on
    assert {c.id for c in perf.chosen_candidates(settings)} >= {"1-alive", "5-dying"}
    with pytest.raises(ValueError, match="screening run on pendulum/swing-up only"):
        perf.for_task(PerfSettings(sections=("halving", "screening")), "cartpole/balance")
    result = CliRunner().invoke(app, ["bench", "perf", "--task", "acrobot/swing-up", "--sections", "halving",
                                      "--out", str(tmp_path / "p")])
    assert result.exit_code != 0 and "no stand-in candidates perf-acrobot-" in " ".join(result.output.split())
    assert not (tmp_path / "p").exists()


def test_the_cli_rejects_unknown_sections_before_measuring(tmp_path):
    result = CliRunner().invoke(app, ["bench", "perf", "--sections", "overhead,warp", "--out", str(tmp_path / "p")])
    assert result.exit_code != 0 and "--sections: unknown warp" in " ".join(result.output.split())
    assert not (tmp_path / "p").exists()
    result = CliRunner().invoke(app, ["bench", "perf", "--sections", "halving", "--candidates", "1-shaped,warp",
                                      "--out", str(tmp_path / "p")])
    assert result.exit_code != 0 and "unknown warp; known: 1-shaped" in " ".join(result.output.split())
    assert not (tmp_path / "p").exists()


def test_training_speed_is_measured_with_the_cards_own_settings(tmp_path):
    """The overhead benchmark's training variants build PPO with the card's hyperparameters (activation
    names turned into torch classes), on the card the perf bench uses."""
    from reward_coder.train.bench import overhead_benchmark

    result = overhead_benchmark(env="halfcheetah", n_envs=2, steps=20, repeats=1, train_steps=128)
    names = [row["variant"] for row in result["training"]]
    assert names[0] == "PPO, native reward" and len(names) == 4
    assert all(row["steps_per_s_median"] > 0 for row in result["training"])


def test_screening_section_screens_the_standins_in_the_sandbox_and_counts_its_mistakes(tmp_path):
    result = run_perf(PerfSettings.quick(sections=("screening",)), tmp_path)
    section = result["sections"]["screening"]
    assert section["status"] == "ok", section
    verdicts = {row["candidate"]: row for row in section["results"]}
    assert set(verdicts) == {c.id for c in standin_candidates()}
    # pointing down prefers exactly the failed episodes: it must go; the good ones must stay
    assert "5-hanging" in section["screened_out"]
    assert not {"1-shaped", "2-height", "3-angle"} & set(section["screened_out"])
    assert section["bad_removed"] == len({"5-hanging", "6-constant", "7-spin", "8-still"} & set(section["screened_out"]))
    assert section["good_lost"] == 0 and section["met"] is (section["bad_removed"] * 3 >= section["bad"])
    assert section["successes"] > 0 and section["episodes"] > section["successes"]
    assert section["env_steps_saved"] == len(section["screened_out"]) * PerfSettings.quick().halving_timesteps


def _seed_entry(success, metric, picks):
    """One loop seed as halving_section stores it: full training's figures and each arm's pick and finalists."""
    ranked = sorted(metric, key=lambda cid: (success[cid], metric[cid]), reverse=True)
    return {"full": {"success": success, "metric": metric, "winner": ranked[0]},
            "halving": {arm: {"winner": finalists[0], "finalists": finalists, "same_winner": finalists[0] == ranked[0],
                              "finalists_hold_winner": ranked[0] in finalists}
                        for arm, finalists in picks.items()}}


def test_over_seeds_a_pick_is_as_good_as_full_trainings_best_when_the_seed_means_cannot_tell_them_apart():
    # a and b both always succeed and swap the lead by noise; c succeeds less; d crashed on one seed
    per_seed = [
        _seed_entry({"a": 1.0, "b": 1.0, "c": 0.4, "d": 1.0}, {"a": -0.101, "b": -0.100, "c": -0.9, "d": -0.05},
                    {"3": ["a", "b"], "4": ["c", "a"]}),
        _seed_entry({"a": 1.0, "b": 1.0, "c": 0.2, "d": -1.0}, {"a": -0.098, "b": -0.104, "c": -1.1, "d": -1e18},
                    {"3": ["b", "c"], "4": ["c", "d"]}),
        _seed_entry({"a": 1.0, "b": 1.0, "c": 0.6, "d": 1.0}, {"a": -0.099, "b": -0.101, "c": -0.7, "d": -0.04},
                    {"3": ["a", "c"], "4": ["d", "c"]}),
    ]
    pooled = perf.across_seeds(per_seed, ["3", "4"])
    assert pooled["best"] == "a"  # highest mean metric among the candidates valid on every seed (not d)
    assert pooled["as_good_as_best"] == ["a", "b"]
    assert pooled["candidates"]["d"]["valid"] is False
    assert pooled["by_arm"]["3"] == {"picks_best": 2, "picks_as_good": 3, "finalists_hold_as_good": 3}
    assert pooled["by_arm"]["4"] == {"picks_best": 0, "picks_as_good": 0, "finalists_hold_as_good": 1}


def test_over_seeds_a_clear_metric_gap_is_not_a_tie_and_one_seed_ties_only_equal_figures():
    per_seed = [_seed_entry({"a": 1.0, "b": 1.0}, {"a": -0.10 + d, "b": -0.20 + d}, {"3": ["b", "a"]})
                for d in (0.0, 0.001, -0.001)]
    pooled = perf.across_seeds(per_seed, ["3"])
    assert pooled["best"] == "a" and pooled["as_good_as_best"] == ["a"]
    assert pooled["by_arm"]["3"]["picks_as_good"] == 0 and pooled["by_arm"]["3"]["finalists_hold_as_good"] == 3
    single = perf.across_seeds(per_seed[:1], ["3"])
    assert single["as_good_as_best"] == ["a"] and single["candidates"]["a"]["success_se"] == 0.0
