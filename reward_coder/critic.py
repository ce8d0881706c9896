"""The critic: an LLM review of each checked candidate before any compute is spent (Auto MC-Reward).

It looks for misused fields, sign errors, terms of very different scale and easy reward hacks, and may
return a corrected version. A revision is only taken when it passes the same checks; the number of
review rounds is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Literal

from reward_coder.analyze import term_table
from reward_coder.design import Attempt, Candidate, Checker, attempt_status, evaluate_response
from reward_coder.llm.base import Completer
from reward_coder.prompting import render
from reward_coder.types import CompletionRequest, Message

Verdict = Literal["accept", "revise", "unclear"]

_VERDICT = re.compile(r"VERDICT\s*:\s*\**\s*(accept|revise)", re.IGNORECASE)


@dataclass(frozen=True)
class CriticReview:
    candidate_id: str
    round: int
    verdict: Verdict
    notes: tuple[str, ...]
    response: str
    revision_status: str = ""
    """'' when no revision was offered; 'taken', or why the revision was not taken."""


def parse_review(text: str) -> tuple[Verdict, tuple[str, ...]]:
    """Verdict and note lines from a critic answer; an answer without a verdict is 'unclear'."""
    match = _VERDICT.search(text)
    verdict: Verdict = match.group(1).lower() if match else "unclear"  # type: ignore[assignment]
    notes_part = text.split("NOTES:", 1)[1] if "NOTES:" in text else text
    notes_part = notes_part.split("```", 1)[0]
    notes = tuple(
        line.strip().lstrip("-*").strip()
        for line in notes_part.splitlines()
        if line.strip().startswith(("-", "*")) and len(line.strip()) > 2
    )
    return verdict, notes


def critic_messages(candidate: Candidate, *, instruction: str, env_description: str,
                    success_description: str, allow_revision: bool) -> tuple[Message, ...]:
    check = candidate.check
    check_notes = [issue.describe() for issue in check.issues] if check else []
    system = render("critic_system.j2", allow_revision=allow_revision)
    user = render(
        "critic_user.j2",
        instruction=instruction,
        env_description=env_description,
        success_description=success_description,
        candidate_id=candidate.id,
        code=(candidate.code or "").rstrip(),
        check_notes=check_notes,
        term_table=term_table(check.term_stats) if check and check.term_stats else "",
    )
    return (Message("system", system), Message("user", user))


def review_candidate(
    completer: Completer,
    candidate: Candidate,
    checker: Checker,
    *,
    instruction: str,
    env_description: str,
    success_description: str,
    task_key: str,
    revisions: int = 1,
    temperature: float = 0.2,
    on_event: Callable[..., None] | None = None,
) -> tuple[Candidate, list[CriticReview]]:
    """Review a checked candidate; take a revision only if it passes the checks. Bounded by `revisions`."""
    emit = on_event or (lambda *_a, **_k: None)
    reviews: list[CriticReview] = []
    for round_index in range(max(1, revisions + 1)):
        allow_revision = round_index < revisions
        messages = critic_messages(candidate, instruction=instruction, env_description=env_description,
                                   success_description=success_description, allow_revision=allow_revision)
        request = CompletionRequest(messages=messages, n=1, temperature=temperature, purpose="critic",
                                    task_key=task_key, iteration=candidate.iteration,
                                    label=f"c{candidate.index}-r{round_index}")
        emit("llm_request", purpose="critic", index=candidate.index, round=round_index)
        text = completer.complete(request).samples[0]
        verdict, notes = parse_review(text)
        revision_status = ""
        revised: Attempt | None = None
        if verdict == "revise" and allow_revision and "```" in text:
            revised = evaluate_response(text, checker)
            if attempt_status(revised) == "ok":
                revision_status = "taken"
            else:
                revision_status = f"not taken: {attempt_status(revised)} " + (
                    revised.extraction_error.message if revised.extraction_error
                    else "; ".join(i.describe() for i in revised.check.errors[:2]) if revised.check else ""
                )
        reviews.append(CriticReview(candidate.id, round_index, verdict, notes, text, revision_status))
        emit("critic_reviewed", index=candidate.index, verdict=verdict, revision=revision_status)
        if revision_status == "taken" and revised is not None:
            candidate = replace(candidate, attempts=candidate.attempts + (revised,),
                                notes=candidate.notes + ("revised on the critic's review",))
            continue
        break
    return candidate, reviews
