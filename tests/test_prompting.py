"""Golden tests of every prompt template: a change to a prompt shows up as a reviewed diff.

Regenerate after an intended change with: UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_prompting.py
"""

import os
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from reward_coder.prompting import render, template_names

GOLDEN = Path(__file__).parent / "golden"

ENV_TEXT = "A pendulum.\nFields:\n- theta (1,) rad: angle from upright"

CASES = {
    "designer_system.j2": dict(algorithm="SAC", example_field="theta", action_dim=1, uses_memory=False, example=None,
                               discrete_actions=0),
    "designer_system.discrete": dict(algorithm="PPO", example_field="pole_angle", action_dim=1, uses_memory=False,
                                     example=None, discrete_actions=2),
    "designer_system.memory": dict(algorithm="PPO", example_field="inventory", action_dim=17, uses_memory=True,
                                   example=None, discrete_actions=0),
    "designer_system.example": dict(
        algorithm="PPO", example_field="theta", action_dim=1, uses_memory=False, discrete_actions=0,
        example=SimpleNamespace(env_id="MountainCarContinuous-v0", instruction="Drive the car up to the flag.",
                                code="def compute_reward(state, action, next_state):\n    return next_state.height, {}\n"),
    ),
    "designer_user.j2": dict(
        instruction="Swing the pendulum up and keep it upright.",
        env_description=ENV_TEXT,
        success_description="mean cos(theta) over the episode above 0.9",
        history=[], policy_feedback="", human_feedback=[], uses_memory=False,
    ),
    "designer_user.memory": dict(
        instruction="Collect wood.", env_description="Crafter.\nFields:\n- inventory (17,) count",
        success_description="at least one wood collected in the episode",
        history=[], policy_feedback="", human_feedback=[], uses_memory=True,
    ),
    "designer_user.feedback": dict(
        instruction="Swing the pendulum up and keep it upright.",
        env_description=ENV_TEXT,
        success_description="mean cos(theta) over the episode above 0.9",
        history=["Iteration 0: best success 0.2 with an angle-only reward."],
        policy_feedback="candidate i0-c1 spins the pendulum instead of stopping at the top.",
        human_feedback=["it spins; penalize angular velocity near the top"], uses_memory=False,
    ),
    "feedback_execution.j2": dict(
        summary="It failed the checks run on real states of the environment.",
        issues=["line 4: unknown field 'angle' (unknown-field)",
                'line 7: compute_reward raised KeyError with the message (program output) "\'angle\'" (runtime-error)'],
        warnings=["[term 'bonus'] is 0.0 on all 256 sampled states (constant-term)"],
        repeated=None,
    ),
    "feedback_execution.repeated": dict(
        summary="It failed the checks run on real states of the environment.",
        issues=["line 4: unknown field 'angle' (unknown-field)"], warnings=[],
        repeated=dict(identical=True, issues=["line 4: unknown field 'angle' (unknown-field)"]),
    ),
    "feedback_untrained.j2": dict(
        candidates=[
            dict(name="i0-c0", stage="failed the checks on real states",
                 failure='line 5: compute_reward raised KeyError with the message (program output) "\'x\'" (runtime-error)', check_warnings=[], critic_notes=[]),
            dict(name="i0-c1", stage="the reward failed during training",
                 failure="training stopped at step 100: the reward failed (non-finite reward (NaN))",
                 check_warnings=["[term 'bonus'] is 0.0 on all 512 sampled states (constant-term)"],
                 critic_notes=["critic (round 1): 'bonus' never changes"]),
        ],
        best_code="",
    ),
    "feedback_policy.j2": dict(
        algorithm="SAC", timesteps=20000, eval_episodes=5,
        success_description="mean cos(theta) above 0.9",
        candidates=[
            dict(name="i0-c0", is_best=True, failed=False, failure="", success_rate="0.80", episode_length="200",
                 metric="0.93", term_table="upright: 0.81 0.20 -1.00 1.00", analysis="holds upright after ~60 steps",
                 check_warnings=["[term 'bonus'] is 0.0 on all 512 sampled states (constant-term)"],
                 critic_notes=["critic (round 1): 'spin' rewards angular velocity at the top too"],
                 trained_steps=20000,
                 series="10000 steps: success 0.20, metric 0.41, own return 120; term sums: upright 120\n"
                        "20000 steps: success 0.80, metric 0.93, own return 181; term sums: upright 181",
                 guidance=["term 'bonus' had the same episode sum (0) at every checkpoint: rescale it or drop it"]),
            dict(name="i0-c1", is_best=False, failed=True, failure="non-finite reward at step 1200",
                 success_rate="", episode_length="", metric="", term_table="", analysis="",
                 check_warnings=[], critic_notes=[], trained_steps=1200, series="", guidance=[]),
        ],
        best_code="def compute_reward(state, action, next_state):\n    return state.theta, {}",
    ),
    "critic_system.j2": dict(allow_revision=True),
    "critic_system.final": dict(allow_revision=False),
    "critic_user.j2": dict(
        instruction="Swing the pendulum up and keep it upright.", env_description=ENV_TEXT,
        success_description="mean cos(theta) over the episode above 0.9", candidate_id="i0-c1",
        code="def compute_reward(state, action, next_state):\n    return state.theta, {}",
        check_notes=["[term 'bonus'] is 0.0 on all 256 sampled states (constant-term)"],
        term_table="bonus: mean 0, std 0, min 0, max 0",
    ),
    "analyzer.j2": dict(max_sentences=3, succeeded=False, instruction="Swing the pendulum up.",
                        candidate_id="i0-c1", facts="succeeded in 0/5 evaluation episodes; term 'spin' dominates"),
    "success_proposal.j2": dict(
        instruction="keep the pole spinning slowly", env_description=ENV_TEXT,
        native_reward="-(theta^2 + 0.1 * angular_velocity^2 + 0.001 * torque^2)",
        kinds=[("native_return_above", "episode return >= threshold"), ("field_mean_above", "mean of a field >= threshold")],
    ),
}


def _template_of(case: str) -> str:
    return case if case.endswith(".j2") else case.split(".")[0] + ".j2"


@pytest.mark.parametrize("case", sorted(CASES))
def test_template_matches_golden(case):
    text = render(_template_of(case), **CASES[case])
    golden = GOLDEN / f"{case.replace('.j2', '')}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden}; run with UPDATE_GOLDEN=1 once and review it"
    assert text == golden.read_text()


def test_every_template_has_a_golden_case():
    covered = {_template_of(case) for case in CASES}
    covered |= {name for name in template_names() if name.startswith("latent_")}  # tests/latent/test_latent_design.py
    assert set(template_names()) <= covered, f"templates without golden case: {set(template_names()) - covered}"


@pytest.mark.parametrize("template", ["designer_user.j2", "feedback_execution.j2", "designer_system.j2"])
def test_missing_variable_fails_loudly(template):
    with pytest.raises(jinja2.UndefinedError):
        render(template)
