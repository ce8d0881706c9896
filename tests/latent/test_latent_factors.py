"""The factor contract checked on real states, through the reward sandbox (issue 11, item 1)."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.latent.factors import (
    check_factors,
    extract_factor_code,
    judge_factor_values,
    read_factor_specs,
    shimmed,
)

SOUND = '''import numpy as np

FACTORS = (
    ("speed", "forward velocity, m/s"),
    ("effort", "sum of squared torques"),
    ("height", "torso height, m"),
)

def compute_factors(state, action, next_state):
    return np.stack([next_state.forward_velocity, np.sum(action ** 2, axis=1), next_state.torso_height], axis=1)
'''


def check(code, sampled, isolation):
    task, batch = sampled
    return check_factors(code, field_names=task.card.field_names(), batches=batch, isolation=isolation)


def rules(result):
    return {issue.rule for issue in result.report.issues}


def test_sound_factors_pass_with_their_names(cheetah, isolation):
    result = check(SOUND, cheetah, isolation)
    assert result.ok, [i.describe() for i in result.report.issues]
    assert [f.name for f in result.factors] == ["speed", "effort", "height"]
    assert not result.constant and not result.duplicates
    assert result.report.n_states == len(cheetah[1].action)


def test_wrong_shape_is_an_error_naming_both_shapes(cheetah, isolation):
    code = SOUND.replace("], axis=1)", "])")
    result = check(code, cheetah, isolation)
    assert not result.ok
    message = " ".join(i.message for i in result.report.errors)
    assert "shape (64, 3)" in message and "(3, 64)" in message and "compute_factors" in message
    assert "compute_reward" not in message  # the shim is ours; the message speaks the factor contract


def test_nan_factor_is_an_error_naming_the_factor(cheetah, isolation):
    code = SOUND.replace("next_state.torso_height]", "np.log(next_state.torso_height - 0.7)]")
    result = check(code, cheetah, isolation)
    assert not result.ok and "non-finite" in rules(result)
    assert any("factor 'height'" in i.message for i in result.report.errors)


def test_the_sandbox_allow_list_applies_to_factor_code(cheetah, isolation):
    result = check(SOUND.replace("import numpy as np", "import numpy as np\nimport os", 1), cheetah, isolation)
    assert not result.ok and any("os" in i.message for i in result.report.errors)


def test_duplicate_and_constant_factors_are_flagged(hopper, isolation, standin):
    answer = standin("hopper-hop-forward-episodic", "latent_designer")[1]
    result = check(extract_factor_code(answer).code, hopper, isolation)
    assert result.ok  # warnings: the verifier is told, the decoder could cope
    assert result.duplicates == (("speed", "speed_kmh"),)
    assert result.constant == ("always_one",)
    assert {"duplicate-factor", "constant-factor"} <= {i.rule for i in result.report.warnings}
    assert "constant-reward" not in rules(result)  # the shim's zero reward is not the candidate's fault


def test_every_factor_constant_is_an_error():
    issues, constant, _ = judge_factor_values(np.ones((50, 2)), ["a", "b"])
    assert constant == ("a", "b") and issues[0].severity == "error"


def test_anti_correlated_copy_is_a_duplicate_but_a_different_quantity_is_not():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200), rng.normal(size=200)
    _, _, duplicates = judge_factor_values(np.stack([x, -2.0 * x + 1.0, y, x + 0.3 * y], axis=1),
                                           ["x", "minus_x", "y", "mix"])
    assert duplicates == (("x", "minus_x"),)


def test_unknown_field_and_a_missing_factor_list_fail_before_running(cheetah, isolation, standin):
    answer = standin("halfcheetah-run-forward-episodic", "latent_designer")[3]
    result = check(extract_factor_code(answer).code, cheetah, isolation)
    assert "unknown-field" in rules(result) and "foot_position" in result.report.errors[0].message
    missing = check(SOUND.split("FACTORS = (")[0] + "def compute_factors(state, action, next_state):\n"
                    "    return np.stack([next_state.forward_velocity], axis=1)\n", cheetah, isolation)
    assert not missing.ok and rules(missing) == {"factor-names"}


@pytest.mark.parametrize("constant, problem", [
    ('FACTORS = [("a", "x")]', "module-state"),
    ('FACTORS = (("a", "x"), ("a", "y"))', "appears twice"),
    ('FACTORS = (("Speed!", "x"),)', "lowercase"),
    ('FACTORS = (("a", ""),)', "no meaning"),
    ('FACTORS = ("a", "b")', "pair"),
])
def test_bad_factor_lists_are_named(constant, problem):
    code = f"import numpy as np\n\n{constant}\n"
    found = read_factor_specs(code)
    if problem == "module-state":  # a list passes our reading but the sandbox's static layer refuses it
        assert not isinstance(found, type(None)) and [f.name for f in found] == ["a"]
        from reward_coder.sandbox import static_check

        assert any(i.rule == "module-state" for i in static_check(shimmed(code + "def compute_factors(state, action, next_state):\n    return action\n")))
    else:
        assert problem in found.message


def test_extraction_keeps_the_factor_list_and_the_answer_line_numbers(standin):
    answer = standin("hopper-hop-forward-episodic", "latent_designer")[0]
    extracted = extract_factor_code(answer)
    assert "FACTORS = (" in extracted.code and not any("FACTORS" in n for n in extracted.notes)
    answer_lines = answer.splitlines()
    for number, line in enumerate(extracted.code.splitlines(), start=1):
        origin = extracted.answer_line(number)
        if origin is not None:
            assert answer_lines[origin - 1].strip() == line.strip()
    missing = extract_factor_code("I would measure speed.")
    assert missing.kind == "no_code"
