"""The trajectory analyzer and the episode summaries it reads: angles averaged on the circle, vectors by
norm and components, the card's task distances and progress measure per episode, critic notes by round."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from reward_coder.analyze import analyze_outcome
from reward_coder.envs import get_card
from reward_coder.evaluate import EpisodeRecord, EvalResult, evaluate_policy, summarize_trajectory
from reward_coder.outcomes import TrainOutcome


@pytest.fixture(autouse=True)
def _no_user_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REWARD_CODER_CARDS", raising=False)


def _analysis(result: EvalResult, card) -> str:
    """What the designer reads of an evaluation, through the record TrainOutcome.eval stores."""
    record = dict(result.summary(), episodes=[asdict(e) for e in result.episodes], term_stats={})
    return analyze_outcome(TrainOutcome("i0-c0", "ok", 1000, eval=record), card, card.success)


def test_hanging_pendulum_alternating_across_plus_and_minus_pi_averages_to_pi() -> None:
    card = get_card("pendulum")
    theta = np.tile([np.pi - 0.05, -(np.pi - 0.05)], 100)
    trajectory = {"theta": theta, "cos_theta": np.cos(theta), "sin_theta": np.sin(theta), "angular_velocity": 0 * theta}
    summary = summarize_trajectory(card, trajectory)
    assert abs(np.mean(theta)) < 0.01, "the arithmetic mean is what used to be reported: near upright"
    assert abs(summary.field_means["theta"]) == pytest.approx(np.pi, abs=1e-6)
    assert summary.field_circular_std["theta"] == pytest.approx(0.05, abs=1e-3)
    assert abs(summary.field_finals["theta"]) == pytest.approx(np.pi - 0.05)
    assert summary.field_means["cos_theta"] == pytest.approx(np.cos(np.pi - 0.05))  # plain fields stay arithmetic
    assert "cos_theta" not in summary.field_circular_std


def test_real_pendulum_left_hanging_is_reported_near_pi_not_upright() -> None:
    """Zero torque from a start near the bottom: it swings about pi, crossing between +pi and -pi."""
    card = get_card("pendulum")
    seen: list[float] = []

    def idle(obs: np.ndarray) -> np.ndarray:
        seen.append(float(np.arctan2(obs[1], obs[0])))
        return np.zeros(1, dtype=np.float32)

    result = evaluate_policy(idle, card, card.success, episodes=1, seed=4)
    episode = result.episodes[0]
    assert min(seen) < -2.5 and max(seen) > 2.5 and abs(np.mean(seen)) < 0.5, "the swing crosses +-pi"
    assert episode.field_means["cos_theta"] < -0.9
    assert abs(episode.field_means["theta"]) > 3.0
    analysis = _analysis(result, card)
    circular = float(analysis.split("theta circular mean ")[1].split()[0])
    assert abs(circular) > 3.0 and "rad (circular std" in analysis
    assert result.summary()["progress_mean"] is None and result.summary()["distance_final_means"] == {}


def test_vector_fields_are_summarized_by_norm_and_components_long_vectors_by_norm_only() -> None:
    card = get_card("fetch-reach")
    steps = 4
    velocity = np.tile([3.0, 4.0, 0.0], (steps, 1))
    velocity[-1] = [0.0, 0.0, 1.0]
    trajectory = {
        "gripper_pos": np.tile([1.3, 0.7, 0.5], (steps, 1)),
        "gripper_velocity": velocity,
        "goal_pos": np.tile([1.3, 0.7, 0.6], (steps, 1)),
        "success": np.zeros(steps),
        "obs": np.ones((steps, 16)),
    }
    summary = summarize_trajectory(card, trajectory)
    means, finals = summary.field_means, summary.field_finals
    assert means["gripper_velocity|norm"] == pytest.approx((5 * 3 + 1) / 4)
    assert finals["gripper_velocity|norm"] == pytest.approx(1.0)
    assert [means[f"gripper_velocity[{i}]"] for i in range(3)] == pytest.approx([9 / 4, 12 / 4, 1 / 4])
    assert means["obs|norm"] == pytest.approx(4.0) and "obs[0]" not in means
    assert "gripper_velocity" not in means and "success" in means
    assert summary.distance_finals == {"hand_goal": pytest.approx(0.1)}
    assert summary.progress == pytest.approx(0.1)  # fetch judges the final step
    record = EpisodeRecord(50, False, -50.0, False, 0.0, field_means=means, field_finals=finals,
                           distance_finals=summary.distance_finals, distance_mins=summary.distance_mins,
                           distance_means=summary.distance_means, progress=summary.progress)
    analysis = _analysis(EvalResult((record,)), card)
    assert "gripper_velocity norm 4 m/s, components (2.25, 3, 0.25)" in analysis
    assert "obs norm 4" in analysis
    assert "task distance hand_goal" in analysis and "final 0.1 m" in analysis


def test_angle_vectors_get_circular_components_and_no_norm() -> None:
    card = get_card("hopper")
    steps = 3
    trajectory = {spec.name: np.zeros((steps, *spec.shape)) for spec in card.fields}
    trajectory["joint_angles"] = np.tile([np.pi - 0.1, 0.2, -0.3], (steps, 1))
    trajectory["joint_angles"][1, 0] = -(np.pi - 0.1)
    summary = summarize_trajectory(card, trajectory)
    assert "joint_angles|norm" not in summary.field_means
    assert abs(summary.field_means["joint_angles[0]"]) == pytest.approx(np.pi, abs=0.05)
    assert summary.field_means["joint_angles[1]"] == pytest.approx(0.2)
    assert set(summary.field_circular_std) == {"torso_angle", "joint_angles[0]", "joint_angles[1]", "joint_angles[2]"}


@pytest.mark.filterwarnings("ignore::UserWarning")  # the scripted policy's gains saturate the action range
def test_metaworld_push_distances_and_progress_per_episode_with_a_scripted_policy() -> None:
    pytest.importorskip("metaworld")
    from metaworld.policies import SawyerPushV3Policy

    card = get_card("metaworld-push")
    scripted = SawyerPushV3Policy()
    result = evaluate_policy(lambda obs: scripted.get_action(obs).astype(np.float32), card, card.success,
                             episodes=2, seed=1, max_episode_steps=120)
    for episode in result.episodes:
        assert set(episode.distance_finals) == set(episode.distance_mins) == {"hand_obj", "obj_goal"}
        assert episode.distance_mins["obj_goal"] <= episode.distance_means["obj_goal"]
        assert episode.progress == episode.distance_mins["obj_goal"]  # the card reduces by min
        assert episode.success == (episode.progress <= 0.05), "progress is the graded form of the success test"
        assert episode.field_means["obj_pos|norm"] > 0 and "obs[0]" not in episode.field_means
    assert any(e.success for e in result.episodes)
    summary = result.summary()
    assert summary["progress_mean"] == pytest.approx(np.mean([e.progress for e in result.episodes]))
    assert set(summary["distance_final_means"]) == {"hand_obj", "obj_goal"}
    analysis = _analysis(result, card)
    assert "task distance obj_goal (from the puck's centre to goal_pos" in analysis
    assert "progress (the min of obj_goal in each episode, lower is better)" in analysis
    assert "success needs 0.05 m or less" in analysis


def test_critic_notes_reach_the_feedback_labelled_by_round(tmp_path) -> None:
    from reward_coder.loop import _critic_notes
    from reward_coder.prompting import render
    from reward_coder.store import RunStore

    store = RunStore.create(tmp_path / "run")
    reviews = [
        {"candidate_id": "i0-c0", "round": 0, "verdict": "revise", "notes": ["the sign of 'height' is flipped"],
         "response": "", "revision_status": "taken"},
        {"candidate_id": "i0-c0", "round": 1, "verdict": "accept", "notes": ["'spin' still rewards spinning"],
         "response": "", "revision_status": ""},
        {"candidate_id": "i0-c1", "verdict": "accept", "notes": ["fine"], "response": ""},  # stored before rounds
    ]
    store.write_json("iterations/0/critic.json", {"reviews": reviews, "candidates": []})
    notes = _critic_notes(store, 0)
    assert notes == {
        "i0-c0": ["critic (round 1, before its revision was taken): the sign of 'height' is flipped",
                  "critic (round 2): 'spin' still rewards spinning"],
        "i0-c1": ["critic (round 1): fine"],
    }
    row = dict(name="i0-c0", is_best=True, failed=False, failure="", success_rate="0.50", episode_length="200",
               metric="0.5", term_table="", analysis="", check_warnings=[], critic_notes=notes["i0-c0"], trained_steps=1000, series="", guidance=[])
    text = render("feedback_policy.j2", algorithm="PPO", timesteps=1000, eval_episodes=5, success_description="x",
                  candidates=[row], best_code="")
    assert "- critic (round 1, before its revision was taken): the sign of 'height' is flipped" in text
    assert "- critic (round 2): 'spin' still rewards spinning" in text
