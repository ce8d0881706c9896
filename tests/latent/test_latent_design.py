"""Factor design and self-verification with stand-in answers (issue 11, items 1 and 6), and the prompts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reward_coder.latent.design import design_factors, designer_messages, verifier_messages
from reward_coder.latent.factors import check_factors
from reward_coder.llm.scripted import ScriptedCompleter

GOLDEN = Path(__file__).parent / "golden"
CHEETAH = "halfcheetah-run-forward-episodic"


@pytest.fixture()
def checker(cheetah, isolation):
    task, batch = cheetah
    return lambda code: check_factors(code, field_names=task.card.field_names(), batches=batch, isolation=isolation)


def design(cheetah, checker, completer):
    from reward_coder.envs import describe_card
    from reward_coder.tasks import describe_success

    task, _ = cheetah
    return design_factors(completer, task.card, instruction=task.instruction, env_description=describe_card(task.card),
                          success_description=describe_success(task.success), checker=checker, samples=4,
                          task_key=task.key)


def test_the_verifier_sees_only_sound_samples_and_its_merge_is_used(cheetah, checker, standin):
    completer = ScriptedCompleter([standin(CHEETAH, "latent_designer"), standin(CHEETAH, "latent_verifier")])
    result = design(cheetah, checker, completer)
    assert [c.status for c in result.samples] == ["ok", "ok", "check_failed", "check_failed"]
    verifier_prompt = completer.requests[1].messages[1].content
    assert "### f0: passed the checks" in verifier_prompt and "### f1" in verifier_prompt
    assert "### f2" not in verifier_prompt and "foot_position" not in verifier_prompt
    assert completer.requests[1].purpose == "latent_verifier" and completer.requests[1].temperature == 0.0
    assert result.chosen is result.verified and result.verified.status == "ok"
    assert [f.name for f in result.chosen.check.factors] == ["forward_speed", "torque_effort", "upright",
                                                             "pitch_rate", "feet_down"]
    record = result.record()
    assert record["chosen"] == "verified" and len(record["samples"]) == 4
    assert "wrong" not in record["note"]
    assert any("shape" in p for p in record["samples"][2]["problems"])


def test_a_broken_merge_falls_back_to_the_first_sound_sample(cheetah, checker, standin):
    broken = standin(CHEETAH, "latent_verifier")[0].replace("axis=1)", "axis=0)")
    completer = ScriptedCompleter([standin(CHEETAH, "latent_designer"), [broken]])
    result = design(cheetah, checker, completer)
    assert result.verified.status == "check_failed"
    assert result.chosen.id == "f0" and "using sample f0 instead" in result.note


def test_no_sound_sample_means_no_verifier_call(cheetah, checker, standin):
    samples = standin(CHEETAH, "latent_designer")
    completer = ScriptedCompleter([[samples[2], samples[3], "no code here", samples[2]]])
    result = design(cheetah, checker, completer)
    assert result.chosen is None and result.verified is None and len(completer.requests) == 1
    assert result.samples[2].status == "extract_failed"


def _prompt_cases(cheetah):
    from reward_coder.latent.design import FactorCandidate
    from reward_coder.latent.factors import FactorCheck, FactorSpec
    from reward_coder.types import CheckIssue, CheckReport

    task, _ = cheetah
    env_text = "A planar cheetah.\nFields:\n- forward_velocity () m/s: torso velocity along +x"
    candidate = FactorCandidate(
        "f1", "answer", "FACTORS = ((\"speed\", \"m/s\"),)\n", None,
        FactorCheck(CheckReport(ok=True, issues=(CheckIssue("duplicate-factor", "factor 'b' duplicates factor 'a'",
                                                            "warning"),)), (FactorSpec("speed", "m/s"),)))
    return {
        "latent_designer": designer_messages(task.card, "Run forward.", env_text, "mean forward velocity above 1 m/s"),
        "latent_verifier": verifier_messages(task.card, "Run forward.", env_text, "mean forward velocity above 1 m/s",
                                             [candidate]),
    }


@pytest.mark.parametrize("case", ["latent_designer", "latent_verifier"])
def test_latent_prompts_match_their_golden_text(cheetah, case):
    messages = _prompt_cases(cheetah)[case]
    text = "\n=====\n".join(f"[{m.role}]\n{m.content}" for m in messages)
    golden = GOLDEN / f"{case}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden file {golden}; run with UPDATE_GOLDEN=1 once and review it"
    assert text == golden.read_text()


def test_latent_templates_fail_loudly_on_a_missing_variable():
    import jinja2

    from reward_coder.prompting import render

    with pytest.raises(jinja2.UndefinedError):
        render("latent_designer_user.j2", instruction="x", env_description="y", success_description="z")
