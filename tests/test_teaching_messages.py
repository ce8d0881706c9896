"""Messages that teach the reward contract, on answers real small models wrote (tests/fixtures/realmodel).

Each test takes a recorded answer by its content, checks it as the designer step does (extraction, static
check, a sandboxed run on sampled Pendulum states) and asserts the message the model would get back: what
the contract says, a corrected line with a real field name, and the line of the model's own answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reward_coder.design import evaluate_response
from reward_coder.envs import get_card, sample_transitions
from reward_coder.extract import extract_reward_code
from reward_coder.reward import FieldView
from reward_coder.sandbox import SandboxedReward, check_candidate, require_isolation
from reward_coder.sandbox.verdict import issue_from_error, teaching_hint
from reward_coder.types import CheckIssue, CheckReport, ExtractedCode

JOURNALS = sorted((Path(__file__).parent / "fixtures" / "realmodel").glob("*.jsonl"))
PENDULUM_FIELDS = "theta, cos_theta, sin_theta, angular_velocity"


def recorded_answer(*needles: str) -> str:
    """The first designer or repair answer of the recorded journals that contains every needle."""
    for journal in JOURNALS:
        for line in journal.read_text().splitlines():
            entry = json.loads(line)
            if entry["purpose"] not in ("designer", "repair"):
                continue
            samples = entry["samples"] if isinstance(entry["samples"], list) else json.loads(entry["samples"])
            for text in samples:
                if all(needle in text for needle in needles):
                    return text
    raise AssertionError(f"no recorded answer contains {needles}")


def line_of(text: str, snippet: str, *, last: bool = False) -> int:
    """1-based line of the answer where `snippet` appears first (or last: the final block is the one used)."""
    numbers = [number for number, line in enumerate(text.splitlines(), 1) if snippet in line]
    return numbers[-1] if last else numbers[0]


@pytest.fixture(scope="module")
def card():
    return get_card("pendulum")


@pytest.fixture(scope="module")
def isolation():
    return require_isolation(False)


@pytest.fixture(scope="module")
def batch(card):
    return sample_transitions(card, n_envs=4, n_steps=16, seed=0)


@pytest.fixture(scope="module")
def checker(card, batch, isolation):
    def check(code: str) -> CheckReport:
        return check_candidate(code, field_names=card.field_names(), batches=batch, isolation=isolation)

    return check


def run_in_worker(code: str, card, batch, isolation):
    """The candidate's first call in the real worker, static check skipped: what the worker itself says."""
    with SandboxedReward(code, field_names=card.field_names(), isolation=isolation) as sandbox:
        assert sandbox.start_error is None, sandbox.start_error
        return sandbox.call(batch.state, batch.action, batch.next_state)


def by_rule(report: CheckReport, rule: str) -> list[CheckIssue]:
    return [issue for issue in report.issues if issue.rule == rule]


# ---- reading state as an array ------------------------------------------------------------------------


def test_indexing_state_like_an_array_names_the_fields_and_the_line_to_write(checker):
    text = recorded_answer("cos_theta = next_state[:, 1]", "if len(state) > 2:")
    attempt = evaluate_response(text, checker)
    [index] = by_rule(attempt.check, "state-not-array")
    assert index.severity == "error"
    assert index.message.startswith("next_state[:, 1] does not work")
    assert PENDULUM_FIELDS in index.message
    assert "`cos_theta = next_state.cos_theta`" in index.message  # column 1 of the model's idea is cos_theta
    assert index.line == line_of(text, "cos_theta = next_state[:, 1]")
    [length] = by_rule(attempt.check, "state-has-no-len")
    assert "`n = len(next_state.theta)`" in length.message
    assert length.line == line_of(text, "if len(state) > 2:")
    assert not any("KeyError" in i.message or "FieldView" in i.message for i in attempt.check.issues)


def test_the_worker_itself_teaches_when_state_is_indexed(card, batch, isolation):
    text = recorded_answer("cos_theta = next_state[:, 1]", "if len(state) > 2:")
    extracted = extract_reward_code(text)
    assert isinstance(extracted, ExtractedCode)
    raw = run_in_worker(extracted.code, card, batch, isolation)
    assert raw.error is not None and raw.error.exc_type == "TypeError"
    assert "KeyError" not in raw.error.message and "slice(None" not in raw.error.message
    assert "state[:, 1] does not work" in raw.error.message
    assert "`cos_theta = next_state.cos_theta`" in raw.error.message
    assert extracted.answer_line(raw.error.line) == line_of(text, "cos_theta = next_state[:, 1]")


def test_state_shape_is_taught_as_a_field_shape(checker):
    text = recorded_answer("batch_size = state.shape[0]", "np.cos(state[:, 0])")
    attempt = evaluate_response(text, checker)
    [shape] = [i for i in by_rule(attempt.check, "unknown-field") if "state.shape" in i.message]
    assert "next_state.theta.shape[0]" in shape.message and "not arrays" in shape.message
    assert shape.line == line_of(text, "batch_size = state.shape[0]", last=True)  # the answer's second block
    [index] = by_rule(attempt.check, "state-not-array")
    assert index.message.startswith("state[:, 0] does not work") and "`theta = next_state.theta`" in index.message


def test_len_of_state_teaches_in_the_worker_and_in_training(card, batch, isolation):
    code = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n    n = len(state)\n" \
           "    return np.zeros(n), {}\n"
    raw = run_in_worker(code, card, batch, isolation)
    assert raw.error is not None and raw.error.exc_type == "TypeError" and raw.error.line == 4
    assert "len(state) does not work" in raw.error.message and "len(next_state.theta)" in raw.error.message
    view = FieldView({name: np.zeros(3) for name in card.field_names()})
    with pytest.raises(TypeError, match=r"len\(next_state\.theta\)"):
        len(view)
    with pytest.raises(TypeError, match=r"`cos_theta = next_state\.cos_theta`"):
        view[:, 1]
    assert bool(view) and view["cos_theta"].shape == (3,)


# ---- action read by name, conditions on arrays ----------------------------------------------------------


def test_action_read_by_name_is_taught_as_an_array(checker):
    text = recorded_answer("reward = cos_theta * (1 - action['angular_velocity'] / 8)")
    attempt = evaluate_response(text, checker)
    [issue] = by_rule(attempt.check, "action-not-fields")
    assert "action is a plain array" in issue.message and "`first = action[:, 0]`" in issue.message
    assert issue.line == line_of(text, "action['angular_velocity'] / 8")


def test_an_if_on_an_array_teaches_np_where(card, batch, isolation):
    text = recorded_answer("if state['theta'] < 0 or state['theta'] > math.pi:")
    extracted = extract_reward_code(text)
    assert isinstance(extracted, ExtractedCode)
    raw = run_in_worker(extracted.code, card, batch, isolation)
    issue = issue_from_error(raw.error)
    assert issue.rule == "runtime-error" and "truth value of an array" in issue.message
    assert "one per environment" in issue.message and "`bonus = np.where(x > 0.9, 1.0, 0.0)`" in issue.message
    assert extracted.answer_line(issue.line) == line_of(text, "if state['theta'] < 0 or")


def test_known_exception_texts_map_to_lessons_and_others_do_not():
    assert "np.cos(x)" in teaching_hint("TypeError", "only length-1 arrays can be converted to Python scalars")
    assert "np.cos(x)" in teaching_hint("TypeError", "only 0-dimensional arrays can be converted to Python scalars")
    assert "`x = next_state.x`" in teaching_hint("IndexError", "too many indices for array: array is 1-dimensional")
    assert teaching_hint("ZeroDivisionError", "division by zero") is None
    assert teaching_hint("TypeError", "truth value of an array") is None  # the type matters, not only the text


# ---- per-episode thinking in a per-step reward ---------------------------------------------------------


def test_an_episode_average_is_warned_and_the_scalar_reward_explained(checker):
    text = recorded_answer("second_half_cos_theta = np.mean(cos_theta[100:])")
    attempt = evaluate_response(text, checker)
    [warning] = by_rule(attempt.check, "episode-average")
    assert warning.severity == "warning"
    assert warning.message.startswith("`np.mean(cos_theta[100:])` reduces over the batch")
    assert "not over the steps of an episode" in warning.message and "computed by us" in warning.message
    assert warning.line == line_of(text, "second_half_cos_theta = np.mean(cos_theta[100:])")
    [shape] = by_rule(attempt.check, "reward-shape")
    assert "each row of a field is a different environment" in shape.message


def test_the_example_field_is_the_one_the_reward_averaged(checker):
    text = recorded_answer("cos_theta = np.mean(state['cos_theta'])")
    [warning] = by_rule(evaluate_response(text, checker).check, "episode-average")
    assert "`reward = next_state.cos_theta`" in warning.message
    assert warning.line == line_of(text, "cos_theta = np.mean(state['cos_theta'])")


def test_slicing_the_batch_as_time_is_warned(checker):
    text = recorded_answer("cos_theta_avg = (cos_theta[100:] + cos_theta[:100]) / 200")
    [warning] = by_rule(evaluate_response(text, checker).check, "episode-average")
    assert warning.message.startswith("`cos_theta[100:]` slices the batch axis as if it were time (2 more")


def test_a_sound_recorded_reward_gets_no_lesson(checker):
    text = recorded_answer("theta = next_state.theta", "reward = 0.5 * (1 - cos_theta)  # Penalize")
    attempt = evaluate_response(text, checker)
    assert attempt.check.ok
    assert not {"episode-average", "state-not-array", "state-has-no-len"} & {i.rule for i in attempt.check.issues}


# ---- numpy and line numbers ---------------------------------------------------------------------------


def test_printing_arrays_no_longer_fails_for_a_reason_of_ours(checker):
    text = recorded_answer('print(f"Reward: {reward}")', "reward = np.mean(np.cos(theta) / 2)")
    attempt = evaluate_response(text, checker)
    assert not any("ndarray.__str__" in i.message for i in attempt.check.issues)
    # what is left is the model's own bug: a dict literal inside an f-string is read as a format spec
    [runtime] = by_rule(attempt.check, "runtime-error")
    assert "Invalid format specifier" in runtime.message
    assert runtime.line == line_of(text, 'print(f"Terms: {')


def test_issue_lines_of_any_check_are_mapped_to_the_answer():
    text = "Prose first.\n\nMore prose.\n```python\nimport numpy as np\n\ndef compute_reward(s, a, n):\n" \
           "    return s.x, {}\n```\n"

    def stub_checker(code: str) -> CheckReport:
        line = code.splitlines().index("    return s.x, {}") + 1
        return CheckReport(ok=False, issues=(CheckIssue("runtime-error", "boom", line=line), CheckIssue("no-terms", "w")))

    attempt = evaluate_response(text, stub_checker)
    assert [i.line for i in attempt.check.issues] == [line_of(text, "return s.x, {}"), None]


def test_per_state_code_gets_no_lesson():
    from reward_coder.sandbox import static_check

    code = """import numpy as np

def _speed(state):
    return np.linalg.norm(state.joint_vel, axis=-1)

def compute_reward(state, action, next_state):
    reach = -np.linalg.norm(next_state.ee_pos - next_state.goal_pos, axis=1)
    effort = -0.1 * np.sum(np.square(action), axis=1)
    calm = -np.mean(np.abs(next_state.joint_vel), axis=-1) - _speed(state)
    lift = next_state.ee_pos[:, 2] + np.max(next_state.joint_pos[:, :3], axis=1)
    up = np.where(next_state.torso_height > 0.5, 1.0, 0.0)
    return reach + effort + calm + lift + up, {"reach": reach, "effort": effort}
"""
    fields = ("ee_pos", "goal_pos", "joint_vel", "joint_pos", "torso_height")
    assert static_check(code, fields) == []


def test_a_rebound_state_is_not_taken_for_the_field_view():
    from reward_coder.sandbox import static_check

    code = """import numpy as np

def compute_reward(state, action, next_state):
    state = np.stack([next_state.theta, next_state.cos_theta], axis=1)
    return state[:, 1], {"up": state[:, 1]}
"""
    assert [i.rule for i in static_check(code, ("theta", "cos_theta"))] == []


def test_a_field_named_by_a_variable_is_left_to_run_time():
    from reward_coder.sandbox import static_check

    code = """import numpy as np

NAMES = ("theta", "cos_theta")

def compute_reward(state, action, next_state):
    total = np.zeros(len(next_state.theta))
    for name in NAMES:
        total = total + next_state[name]
    return total, {"total": total}
"""
    assert static_check(code, ("theta", "cos_theta")) == []
