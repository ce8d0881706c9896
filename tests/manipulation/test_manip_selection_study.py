"""The selection study replays successive halving on recorded curves with the old and the new ranking."""

from __future__ import annotations

from reward_coder.bench.selection_study import markdown, replay_halving, selection_key, native_tiebreak_key, study
from reward_coder.outcomes import CurvePoint, TrainOutcome, outcome_to_dict
from reward_coder.types import SuccessSpec

BINARY = SuccessSpec(kind="info_flag", params={"key": "success"})
BUDGETS = (1000, 2000, 4000)


def _outcome(cid, successes, natives, progress):
    curve = tuple(CurvePoint(timesteps=1000 * (i + 1), success_rate=s, metric=s, native_return=n, length=500,
                             wall_s=1.0, progress=p) for i, (s, n, p) in enumerate(zip(successes, natives, progress)))
    return TrainOutcome(cid, "ok", 4000, curve=curve, eval={"success_rate": successes[-1]})


def _candidates():
    # all at success 0 at rung 0; "loud" has Meta-World's favourite native return but never gets closer,
    # "close" approaches the goal and succeeds later
    return {
        "loud": _outcome("loud", [0, 0, 0, 0], [900, 900, 900, 900], [0.3, 0.3, 0.3, 0.3]),
        "close": _outcome("close", [0, 0.2, 0.5, 0.9], [40, 150, 200, 300], [0.1, 0.06, 0.04, 0.02]),
        "meh": _outcome("meh", [0, 0, 0, 0], [50, 50, 50, 50], [0.2, 0.2, 0.2, 0.2]),
        "bad": _outcome("bad", [0, 0, 0, 0], [10, 10, 10, 10], [0.5, 0.5, 0.5, 0.5]),
    }


def test_the_old_ranking_prunes_the_good_candidate_on_native_return_and_the_new_one_keeps_it():
    old_winner, old_pruned, old_steps = replay_halving(_candidates(), BUDGETS, BINARY, native_tiebreak_key)
    new_winner, new_pruned, new_steps = replay_halving(_candidates(), BUDGETS, BINARY, selection_key)
    assert old_pruned["close"] == 0 and old_winner == "loud"
    assert "close" not in new_pruned and new_winner == "close"
    # four candidates at 1000, two at 2000, one at 4000: the same compute either way
    assert old_steps == new_steps == 2 * 1000 + 2000 + 4000


def test_study_counts_picks_over_seeds_and_reports_each_candidates_success():
    records = []
    for seed in (0, 1):
        for cid, outcome in _candidates().items():
            records.append({"kind": "reward", "task": "t/x", "method": cid, "seed": seed,
                            "outcome": outcome_to_dict(outcome)})
    records.append({"kind": "expert", "task": "t/x", "method": "expert", "seed": 0,
                    "outcome": outcome_to_dict(_candidates()["close"])})
    result = study(records, lambda task: BUDGETS, lambda task: BINARY)
    rankings = result["summary"]["t/x"]["rankings"]
    assert rankings["native-tiebreak"]["picks"] == {"loud": 2}
    assert rankings["task-only"]["picks"] == {"close": 2}
    assert result["summary"]["t/x"]["final_success"]["close"]["mean"] == 0.9
    assert "expert" not in result["summary"]["t/x"]["final_success"]
    text = markdown(result)
    assert "| task-only | close x2 | s0: close, s1: close |" in text
