"""Shared replay for off-policy candidates (LaRes): one buffer, a reward column per candidate, relabelling,
the same gradient updates per candidate as a separate run, 1/K of the env steps, outcomes per candidate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from reward_coder.envs import adapter_for, get_card
from reward_coder.envs.sampling import fields_from_vec_step
from reward_coder.train.sb3 import TrainJob
from reward_coder.train.shared_replay import (
    SharedReplay,
    compare_shared_vs_separate,
    shared_replay_problem,
    train_shared,
)

UP = """import numpy as np

def compute_reward(state, action, next_state):
    up = next_state.cos_theta
    return up, {"up": up}
"""
DOWN = """import numpy as np

def compute_reward(state, action, next_state):
    down = -next_state.cos_theta
    return down, {"down": down}
"""
NAN_LATE = """import numpy as np

def compute_reward(state, action, next_state):
    bad = np.where(np.abs(next_state.angular_velocity) > 0.0, np.nan, 0.0)
    return bad, {"bad": bad}
"""
TINY = {"learning_starts": 20, "batch_size": 16, "buffer_size": 1_000}


def _job(tmp_path, cid: str, code: str, **changes) -> TrainJob:
    card = get_card("pendulum")
    settings = dict(candidate_id=cid, card=card, success=card.task("swing-up").success, out_dir=str(tmp_path / cid),
                    code=code, algorithm="SAC", total_timesteps=60, n_envs=2, seed=1, device="cpu",
                    hyperparameters=TINY, eval_episodes=1, eval_every=60, max_episode_steps=20, tensorboard=False)
    return TrainJob(**(settings | changes))


def _up(state, action, next_state):
    return np.asarray(next_state["cos_theta"], np.float64), {}


def _down(state, action, next_state):
    return -np.asarray(next_state["cos_theta"], np.float64), {}


def _speed(state, action, next_state):
    return np.abs(np.asarray(next_state["angular_velocity"], np.float64)), {}


def test_the_buffer_holds_each_transition_once_with_a_reward_column_per_candidate_and_relabels_one():
    from stable_baselines3 import SAC

    from reward_coder.train.sb3 import make_vec_env

    card = get_card("pendulum")
    fields = card.field_names()
    venv = make_vec_env(card, 2, seed=0, max_episode_steps=5, fields=fields)
    models = [SAC("MlpPolicy", venv, buffer_size=100, seed=0, device="cpu") for _ in range(2)]
    replay = SharedReplay(models, fields)
    adapter = adapter_for(card, fields)
    obs = venv.reset()
    state = adapter.fields(np.asarray(obs), [i.get("rc_probe", {}) for i in venv.reset_infos])
    for _ in range(12):  # two episode ends: the terminal observation is what gets stored and scored
        action = np.array([venv.action_space.sample() for _ in range(2)])
        new_obs, _r, dones, infos = venv.step(action)
        next_state, after = fields_from_vec_step(adapter, np.asarray(new_obs), infos, dones, venv.reset_infos)
        columns = np.stack([_up(state, action, next_state)[0], _down(state, action, next_state)[0]], axis=1)
        next_obs = np.array(new_obs)
        for i in np.flatnonzero(dones):
            next_obs[i] = infos[i]["terminal_observation"]
        replay.add(np.asarray(obs), next_obs, models[0].policy.scale_action(action), action, dones, infos, state,
                   next_state, columns)
        obs, state = new_obs, after
    venv.close()

    assert replay.size == 12 and replay.inserted == 24  # 12 vec steps of 2 envs, stored once
    first, second = (m.replay_buffer for m in models)
    assert second.observations is first.observations and second.actions is first.actions
    assert (second.pos, second.full) == (first.pos, first.full)
    assert replay.rewards.shape == (50, 2, 2)  # SB3 splits buffer_size over the envs
    np.testing.assert_allclose(replay.rewards[:12, :, 1], -replay.rewards[:12, :, 0])
    # each learner samples its own column
    batch = second.sample(8)
    stored = np.round(replay.rewards[:12, :, 1].ravel(), 5)
    assert np.isin(np.round(batch.rewards.numpy().ravel(), 5), stored).all()
    np.testing.assert_allclose(batch.rewards.numpy().ravel(), -batch.next_observations[:, 0].numpy(), rtol=1e-5)

    before = replay.rewards[:12, :, 0].copy()
    assert replay.relabel(1, _speed, ("angular_velocity",)) == 24
    np.testing.assert_array_equal(replay.rewards[:12, :, 0], before)  # the other column is untouched
    np.testing.assert_allclose(replay.rewards[:12, :, 1], np.abs(replay.next_state["angular_velocity"][:12]), rtol=1e-6)
    np.testing.assert_allclose(second.rewards[:12], replay.rewards[:12, :, 1])  # the learner sees the relabel


def test_shared_run_matches_separate_updates_with_one_kth_of_the_env_steps(tmp_path):
    result = compare_shared_vs_separate(
        get_card("pendulum"), {"up": UP, "down": DOWN}, success=get_card("pendulum").task("swing-up").success,
        timesteps=60, seed=1, out_dir=tmp_path, hyperparameters=TINY, n_envs=2, eval_episodes=1,
        max_episode_steps=20)
    assert result["separate"]["env_steps"] == 120 and result["shared"]["env_steps"] == 60
    assert result["env_steps_ratio"] == pytest.approx(0.5)
    for cid in ("up", "down"):
        separate, shared = result["separate"]["per_candidate"][cid], result["shared"]["per_candidate"][cid]
        assert separate["status"] == shared["status"] == "ok"
        # (60 - 20) / 2 envs = 20 updates after learning_starts, in both
        assert shared["gradient_updates"] == separate["gradient_updates"] == 20
        assert shared["success_rate"] is not None and shared["native_return_mean"] is not None
    assert result["shared"]["winner"] in ("up", "down")


def test_task_key_form_reports_steps_updates_success_and_winner_per_side(tmp_path):
    messages: list[str] = []
    codes = [UP, DOWN, UP.replace("up", "top")]
    result = compare_shared_vs_separate(
        "pendulum/swing-up", codes, candidate_ids=["a", "b", "c"], timesteps=60, seed=2, out_dir=tmp_path,
        eval_episodes=1, on_progress=messages.append, hyperparameters=TINY, n_envs=2, max_episode_steps=20)
    shared, separate = result["shared"], result["separate"]
    assert shared["env_steps"] == 60 and separate["env_steps"] == 3 * 60  # T shared vs K * T separate
    assert shared["gradient_updates_per_candidate"] == separate["gradient_updates_per_candidate"] == \
        {"a": 20, "b": 20, "c": 20}
    for side in (shared, separate):
        assert set(side["success"]) == set(side["native_return"]) == {"a", "b", "c"}
        assert all(0.0 <= rate <= 1.0 for rate in side["success"].values())
        assert all(np.isfinite(r) for r in side["native_return"].values())
        assert side["winner"] in ("a", "b", "c") and side["wall_s"] > 0
        best = max(side["success"].values())
        assert side["winner_success"] == best
        # among the best by success, the task's metric decides (the loop's selection), never the env's reward
        tied = {cid: row["metric_mean"] for cid, row in side["per_candidate"].items() if side["success"][cid] == best}
        assert side["per_candidate"][side["winner"]]["metric_mean"] == max(tied.values())
    assert result["same_winner"] == (shared["winner"] == separate["winner"])
    assert messages and "shared" in messages[-1]
    assert result["eval_episodes"] == 1


def test_reward_columns_are_each_codes_reward_and_relabel_with_a_compiled_code_changes_one_column():
    from stable_baselines3 import SAC

    from reward_coder.reward.fields import fields_used
    from reward_coder.train.sb3 import build_reward, make_vec_env

    card = get_card("pendulum")
    fields = card.field_names()
    codes = [UP, DOWN]
    jobs = [TrainJob(candidate_id=f"c{k}", card=card, success=card.task("swing-up").success, out_dir="",
                     code=code, algorithm="SAC", total_timesteps=10, n_envs=1, seed=0, device="cpu",
                     hyperparameters=TINY, max_episode_steps=5, tensorboard=False) for k, code in enumerate(codes)]
    used = [fields_used(code, fields) for code in codes]
    fns = [build_reward(job, u) for job, u in zip(jobs, used)]
    venv = make_vec_env(card, 1, seed=0, max_episode_steps=5, fields=fields)
    try:
        models = [SAC("MlpPolicy", venv, buffer_size=50, seed=0, device="cpu") for _ in codes]
        replay = SharedReplay(models, fields)
        adapter = adapter_for(card, fields)
        obs = venv.reset()
        state = adapter.fields(np.asarray(obs), [i.get("rc_probe", {}) for i in venv.reset_infos])
        for step in range(8):
            action = np.array([venv.action_space.sample()])
            new_obs, _r, dones, infos = venv.step(action)
            next_state, after = fields_from_vec_step(adapter, np.asarray(new_obs), infos, dones, venv.reset_infos)
            columns = np.stack([fns[k]({n: state[n] for n in used[k]}, action.astype(np.float64),
                                       {n: next_state[n] for n in used[k]}, env_step=step)[0]
                                for k in range(2)], axis=1)
            replay.add(np.asarray(obs), np.asarray(new_obs), models[0].policy.scale_action(action), action, dones,
                       infos, state, next_state, columns)
            obs, state = new_obs, after
        assert replay.size == 8 and replay.inserted == 8  # once each, K columns
        cos = replay.next_state["cos_theta"][:8, 0]
        np.testing.assert_allclose(replay.rewards[:8, 0, 0], cos, rtol=1e-5)
        np.testing.assert_allclose(replay.rewards[:8, 0, 1], -cos, rtol=1e-5)
        untouched = replay.rewards[:8, :, 0].copy()
        speed_code = UP.replace("next_state.cos_theta", "abs(next_state.angular_velocity)")
        speed_job = replace(jobs[1], code=speed_code)
        speed_fields = fields_used(speed_code, fields)
        speed = build_reward(speed_job, speed_fields)
        try:
            assert replay.relabel(1, lambda s, a, n: speed(s, a, n, env_step=0), speed_fields) == 8
        finally:
            speed.close()
        np.testing.assert_array_equal(replay.rewards[:8, :, 0], untouched)
        np.testing.assert_allclose(replay.rewards[:8, 0, 1], np.abs(replay.next_state["angular_velocity"][:8, 0]),
                                   rtol=1e-5)
    finally:
        venv.close()
        for fn in fns:
            fn.close()


def test_a_failing_reward_stops_alone_and_the_others_get_evaluated_outcomes(tmp_path):
    outcomes = train_shared([_job(tmp_path, "up", UP), _job(tmp_path, "nan", NAN_LATE)])
    by_id = {o.candidate_id: o for o in outcomes}
    assert [o.candidate_id for o in outcomes] == ["up", "nan"]
    assert by_id["nan"].status == "reward_failed" and by_id["nan"].failure
    assert by_id["up"].status == "ok" and by_id["up"].timesteps == 60
    assert by_id["up"].eval["episodes"] and by_id["up"].curve and by_id["up"].checkpoint
    assert "shared replay" in by_id["up"].notes[0]


def test_on_policy_and_memory_rewards_are_refused(tmp_path):
    assert "on-policy" in shared_replay_problem([_job(tmp_path, "a", UP, algorithm="PPO"),
                                                 _job(tmp_path, "b", DOWN, algorithm="PPO")])
    memory = "def compute_reward(state, action, next_state, memory):\n    return next_state.cos_theta, {}\n"
    assert "memory" in shared_replay_problem([_job(tmp_path, "a", UP), _job(tmp_path, "b", memory)])
    assert shared_replay_problem([_job(tmp_path, "a", UP), _job(tmp_path, "b", DOWN)]) is None


def test_the_loop_with_shared_replay_trains_every_candidate_from_one_buffer(tmp_path):
    from reward_coder.config import RunConfig
    from reward_coder.llm import ScriptedCompleter
    from reward_coder.loop import LoopServices, run_loop, start_run
    from reward_coder.store import RunStore
    from reward_coder.tasks import resolve_task
    from reward_coder.train.executor import InlineExecutor
    from reward_coder.types import CheckReport

    def answer(code: str) -> str:
        return f"```python\n{code}```"

    task = resolve_task("pendulum/swing-up", None, None)
    config = RunConfig(instruction=task.instruction, env="pendulum", task=task.key, model="scripted", samples=2,
                       iterations=1, critic=False, total_timesteps=40, final_seeds=0, finalists=0, eval_episodes=1,
                       algorithm="SAC", hyperparameters=TINY, shared_replay=True)
    store = RunStore.create(tmp_path / "run")
    events: list[str] = []
    services = LoopServices(completer=ScriptedCompleter([[answer(UP), answer(DOWN)]]), executor=InlineExecutor(),
                            store=store, on_event=lambda kind, **_: events.append(kind),
                            train=lambda job: pytest.fail("the separate trainer must not run"))
    task = start_run(config, task, store, services.completer)
    run_loop(config, task, services, lambda code: CheckReport(ok=True, issues=()))
    summary = store.read_json("iterations/0/summary.json")
    assert [c["training"] for c in summary["candidates"]] == ["ok", "ok"]
    assert summary["best_candidate"] in ("i0-c0", "i0-c1")
    for cid in ("i0-c0", "i0-c1"):
        outcome = store.read_json(f"iterations/0/outcomes/{cid}.rung0.json")
        assert outcome["timesteps"] == 40 and "shared replay" in outcome["notes"][0]
    assert "shared_replay_skipped" not in events


class _Interrupted(Exception):
    """Stands for the process dying between two evaluations."""


def _shared(tmp_path, total: int = 120, code_b: str = DOWN, **changes):
    from reward_coder.train.shared_replay import SharedJob

    jobs = (_job(tmp_path / "training", "a", UP, total_timesteps=total, eval_every=40, **changes),
            _job(tmp_path / "training", "b", code_b, total_timesteps=total, eval_every=40, **changes))
    return SharedJob(jobs, str(tmp_path / "training"))


def test_an_interrupted_shared_run_continues_from_its_last_checkpoint_with_the_same_updates(tmp_path):
    from reward_coder.train.checkpoint import latest_checkpoint
    from reward_coder.train.shared_replay import gradient_updates

    reference = train_shared(_shared(tmp_path / "whole"))
    seen = []

    def die_at_80(cid, point):
        seen.append((cid, point.timesteps))
        if point.timesteps >= 80:
            raise _Interrupted("killed")

    crashed = train_shared(_shared(tmp_path / "cut"), on_progress=die_at_80)
    assert {o.status for o in crashed} == {"crashed"}
    checkpoint, _ = latest_checkpoint(tmp_path / "cut" / "training")
    assert checkpoint is not None and checkpoint.timesteps == 40  # saved after the evaluation at 40, not at 80
    assert (tmp_path / "cut" / "training" / "a" / "curve.json").exists()

    resumed = train_shared(_shared(tmp_path / "cut"))
    for before, after in zip(reference, resumed):
        assert after.status == "ok" and after.timesteps == 120
        assert any("continued from step-000000000040" in note for note in after.notes)
        assert [p.timesteps for p in after.curve] == [40, 80, 120]  # the point at 40 came from the checkpoint
        assert gradient_updates(after) == gradient_updates(before)  # the same updates as a run never cut
    assert ("a", 40) in seen and ("a", 80) in seen


def test_a_shared_checkpoint_of_other_code_is_not_resumed_and_a_torn_one_falls_back(tmp_path):
    from reward_coder.train.checkpoint import latest_checkpoint

    train_shared(_shared(tmp_path, total=120))
    home = tmp_path / "training"
    newest, _ = latest_checkpoint(home)
    assert newest.timesteps == 80  # after the evaluations at 40 and 80; none at the end (outcomes are stored then)
    changed = train_shared(_shared(tmp_path, total=160, code_b=DOWN.replace("-next_state", "-2 * next_state")))
    assert all(o.status == "ok" and o.timesteps == 160 for o in changed)
    assert any("other candidates or code" in note for note in changed[0].notes)

    (newest := latest_checkpoint(home)[0]).path("shared_buffer.npz").write_bytes(b"torn")
    again = train_shared(_shared(tmp_path, total=160, code_b=DOWN.replace("-next_state", "-2 * next_state")))
    notes = " ".join(again[0].notes)
    assert "does not match its hash" in notes and "continued from step-" in notes
    assert f"step-{newest.timesteps:012d}" not in notes.split("continued from")[1]


def test_shared_training_writes_each_candidates_losses_and_evaluations_to_its_tensorboard_folder(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    outcomes = train_shared(_shared(tmp_path, total=80, tensorboard=True))
    assert [o.status for o in outcomes] == ["ok", "ok"]
    for cid in ("a", "b"):
        folder = tmp_path / "training" / cid / "tb" / "shared_1"
        events = EventAccumulator(str(folder))
        events.Reload()
        tags = set(events.Tags()["scalars"])
        assert {"eval/success_rate", "eval/metric", "train/actor_loss", "rollout/candidate_return_mean"} <= tags, tags
        assert [e.step for e in events.Scalars("eval/success_rate")] == [40, 80]


def test_a_memory_optimized_buffer_without_next_observations_is_checkpointed_and_resumed(tmp_path):
    tiny = {**TINY, "optimize_memory_usage": True, "replay_buffer_kwargs": {"handle_timeout_termination": False}}
    first = train_shared(_shared(tmp_path, total=80, hyperparameters=tiny))
    assert [o.status for o in first] == ["ok", "ok"], [o.failure for o in first]
    again = train_shared(_shared(tmp_path, total=120, hyperparameters=tiny))
    assert [o.status for o in again] == ["ok", "ok"] and any("continued from" in n for n in again[0].notes)
