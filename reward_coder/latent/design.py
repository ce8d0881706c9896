"""Latent mode's LLM steps: K factor functions, each checked on real states, then self-verification.

The designer prompt (prompts/latent_designer_*.j2) asks for K samples of FACTORS + compute_factors;
each is extracted and checked in the sandbox (factors.check_factors). The verifier prompt
(prompts/latent_verifier_*.j2) shows the samples that passed, with what the checks found (constant and
duplicate factors among it), and asks for one merged function, which is checked again. When the
merged function fails (or no verifier answer is usable), the first sound sample is used and the
record says so. LLM errors propagate; faults of the code never do.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Literal

from reward_coder.latent.factors import FactorCheck, extract_factor_code
from reward_coder.llm.base import Completer
from reward_coder.prompting import render
from reward_coder.types import CompletionRequest, EnvCard, ExtractionError, Message

FactorStatus = Literal["ok", "extract_failed", "check_failed"]
FactorChecker = Callable[[str], FactorCheck]
EventSink = Callable[..., None]

MIN_FACTORS, MAX_FACTORS_ASKED = 3, 10


@dataclass(frozen=True)
class FactorCandidate:
    """One factor function after checks: the response, its code, and what became of it."""

    id: str
    response: str
    code: str | None
    extraction_error: ExtractionError | None
    check: FactorCheck | None
    extract_notes: tuple[str, ...] = ()

    @property
    def status(self) -> FactorStatus:
        if self.extraction_error is not None or self.code is None:
            return "extract_failed"
        return "ok" if self.check is not None and self.check.ok else "check_failed"

    def problems(self) -> list[str]:
        """Errors first, then warnings, one line each (what the verifier and the record show)."""
        if self.extraction_error is not None:
            return [f"{self.extraction_error.kind}: {self.extraction_error.message}"]
        if self.check is None:
            return []
        report = self.check.report
        return [i.describe() for i in report.errors] + [i.describe() for i in report.warnings]

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "problems": self.problems(),
            "extract_notes": list(self.extract_notes),
            "extraction_error": ({"kind": self.extraction_error.kind, "message": self.extraction_error.message}
                                 if self.extraction_error else None),
            "check": self.check.to_dict() if self.check else None,
        }


@dataclass(frozen=True)
class FactorDesign:
    """The outcome of latent mode's LLM steps: every sample, the verifier's merge, and the function used."""

    samples: tuple[FactorCandidate, ...]
    verified: FactorCandidate | None
    chosen: FactorCandidate | None
    note: str
    """How `chosen` was decided, in one sentence (the verifier's merge, or why a sample stands in for it)."""

    def record(self) -> dict[str, Any]:
        return {
            "samples": [c.record() for c in self.samples],
            "verified": self.verified.record() if self.verified else None,
            "chosen": self.chosen.id if self.chosen else None,
            "factors": ([{"name": f.name, "meaning": f.meaning} for f in self.chosen.check.factors]
                        if self.chosen and self.chosen.check else []),
            "note": self.note,
        }


def episode_score_text(card: EnvCard) -> str:
    """What the delayed episodic score is, in words, from the card's own description of its reward."""
    native = " ".join(card.native_reward.split()) or "the environment's own reward"
    return f"The sum over all steps of the environment's own per-step reward. {native}"


def designer_messages(card: EnvCard, instruction: str, env_description: str,
                      success_description: str) -> tuple[Message, ...]:
    system = render(
        "latent_designer_system.j2", algorithm="SAC", example_field=card.fields[0].name,
        action_dim=int(card.action.shape[0]) if card.action.shape else 1,
        discrete_actions=len(card.action.choices), min_factors=MIN_FACTORS, max_factors=MAX_FACTORS_ASKED,
    )
    user = render("latent_designer_user.j2", instruction=instruction, env_description=env_description,
                  episode_score=episode_score_text(card), success_description=success_description)
    return (Message("system", system), Message("user", user))


def verifier_messages(card: EnvCard, instruction: str, env_description: str, success_description: str,
                      candidates: list[FactorCandidate]) -> tuple[Message, ...]:
    shown = []
    for candidate in candidates:
        factors = ", ".join(f.name for f in candidate.check.factors) if candidate.check else ""
        verdict = "passed the checks" if candidate.status == "ok" else "failed the checks"
        shown.append({"name": candidate.id, "verdict": verdict, "factors": factors or "-",
                      "notes": candidate.problems(), "code": candidate.code or ""})
    system = render("latent_verifier_system.j2")
    user = render("latent_verifier_user.j2", instruction=instruction, env_description=env_description,
                  episode_score=episode_score_text(card), success_description=success_description,
                  candidates=shown)
    return (Message("system", system), Message("user", user))


def evaluate_factor_response(candidate_id: str, text: str, checker: FactorChecker) -> FactorCandidate:
    """Extract the factor module from one answer and check it; issue lines name lines of the answer."""
    from dataclasses import replace

    extracted = extract_factor_code(text)
    if isinstance(extracted, ExtractionError):
        return FactorCandidate(candidate_id, text, None, extracted, None)
    check = checker(extracted.code)
    if extracted.line_map and any(i.line is not None for i in check.report.issues):
        issues = tuple(replace(i, line=extracted.answer_line(i.line)) for i in check.report.issues)
        check = replace(check, report=replace(check.report, issues=issues))
    return FactorCandidate(candidate_id, text, extracted.code, None, check, tuple(extracted.notes))


def design_factors(
    completer: Completer, card: EnvCard, *, instruction: str, env_description: str, success_description: str,
    checker: FactorChecker, samples: int, task_key: str, temperature: float = 1.0,
    on_event: EventSink | None = None, on_messages: Callable[[str, tuple[Message, ...]], None] | None = None,
) -> FactorDesign:
    """K factor samples, checked; the verifier merges those that passed; the merge is checked again.

    `on_messages(step, messages)` gets each rendered prompt before its call ('designer', 'verifier'), so a
    run stores it even when the call then fails.
    """
    emit = on_event or (lambda *_a, **_k: None)
    keep = on_messages or (lambda *_a: None)
    messages = designer_messages(card, instruction, env_description, success_description)
    keep("designer", messages)
    emit("llm_request", purpose="latent_designer", n=samples)
    completion = completer.complete(CompletionRequest(
        messages=messages, n=samples, temperature=temperature, purpose="latent_designer", task_key=task_key))
    emit("llm_response", purpose="latent_designer", n=len(completion.samples), cost_usd=completion.cost_usd)
    with ThreadPoolExecutor(max_workers=2) as pool:
        checked = list(pool.map(lambda item: evaluate_factor_response(f"f{item[0]}", item[1], checker),
                                enumerate(completion.samples)))
    for candidate in checked:
        emit("factor_checked", id=candidate.id, status=candidate.status)
    sound = [c for c in checked if c.status == "ok"]
    if not sound:
        return FactorDesign(tuple(checked), None, None, "no factor sample passed the checks")
    verify = verifier_messages(card, instruction, env_description, success_description, sound)
    keep("verifier", verify)
    emit("llm_request", purpose="latent_verifier", n=1)
    answer = completer.complete(CompletionRequest(messages=verify, n=1, temperature=0.0, purpose="latent_verifier",
                                                  task_key=task_key))
    verified = evaluate_factor_response("verified", answer.samples[0], checker)
    emit("factor_checked", id="verified", status=verified.status)
    if verified.status == "ok":
        return FactorDesign(tuple(checked), verified, verified,
                            f"the verifier merged {len(sound)} sound sample(s) into one function, which passed")
    return FactorDesign(tuple(checked), verified, sound[0],
                        f"the verifier's merge {verified.status.replace('_', ' ')} "
                        f"({'; '.join(verified.problems()[:2])}); using sample {sound[0].id} instead")
