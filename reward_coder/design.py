"""The designer step: prompt -> K responses -> extracted, checked candidates, with bounded repair rounds.

Used alone by `generate` (Text2Reward's zero-shot mode) and as the first step of each iteration of
`run`. It takes its completer and checker as arguments, so it never knows which provider or sandbox
is behind them.
"""

from __future__ import annotations

import ast
import difflib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Literal, Protocol

from reward_coder.examples import Example
from reward_coder.extract import extract_reward_code
from reward_coder.llm.base import Completer
from reward_coder.prompting import render
from reward_coder.types import (
    CheckReport,
    CompletionRequest,
    EnvCard,
    ExtractionError,
    Message,
)

CandidateStatus = Literal["ok", "extract_failed", "check_failed", "llm_failed"]
EventSink = Callable[..., None]

UNCHANGED_SIMILARITY = 0.97
"""A repair whose normalized code is at least this similar (difflib ratio) to the attempt it repairs counts as
unchanged: small models often send the failing function back with a comment or a name changed."""


class Checker(Protocol):
    """Checks one candidate's code on real states (static checks + sandboxed run + verdict)."""

    def __call__(self, code: str) -> CheckReport: ...


@dataclass(frozen=True)
class Attempt:
    """One response and what became of it; a candidate keeps all its attempts for the record."""

    response: str
    code: str | None
    extraction_error: ExtractionError | None
    extract_notes: tuple[str, ...]
    check: CheckReport | None
    unchanged: bool = False
    """A repair that sent back the same (or nearly the same) code as the attempt it was asked to fix."""


@dataclass(frozen=True)
class Candidate:
    """A reward candidate after design: its final code (if any) and the history of its attempts."""

    id: str
    iteration: int
    index: int
    status: CandidateStatus
    attempts: tuple[Attempt, ...]
    parent: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]

    @property
    def code(self) -> str | None:
        return self.final.code

    @property
    def check(self) -> CheckReport | None:
        return self.final.check

    def failure_summary(self) -> str:
        """One line saying why the candidate is not usable ('' when it is)."""
        return "" if self.status == "ok" else attempt_problem(self.final)

    def repaired_from(self) -> list[str]:
        """What was wrong with each earlier attempt (the errors fed back to the LLM)."""
        return [attempt_problem(a) for a in self.attempts[:-1]]

    @property
    def unchanged_repairs(self) -> int:
        """Repairs that repeated the code they were asked to fix: attempts, but no new try."""
        return sum(1 for a in self.attempts if a.unchanged)

    def attempts_text(self) -> str:
        """The attempt count as a person should read it, e.g. '2 attempts, 1 unchanged'."""
        return describe_attempts(len(self.attempts), self.unchanged_repairs)


def describe_attempts(attempts: int, unchanged: int) -> str:
    """'1 attempt', '3 attempts', '2 attempts, 1 unchanged' (a repair that repeated the code it had to fix)."""
    text = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    return text + (f", {unchanged} unchanged" if unchanged else "")


def normalized_code(code: str) -> str:
    """The code as Python reads it: comments, blank lines and formatting gone (the text itself if it does not parse)."""
    try:
        return ast.unparse(ast.parse(code))
    except (SyntaxError, ValueError):
        return "\n".join(line.split("#")[0].rstrip() for line in code.splitlines() if line.strip())


def _comparable(attempt: Attempt) -> str | None:
    """What two attempts are compared by: the extracted code, or for an answer without usable code its text."""
    if attempt.code is not None:
        return normalized_code(attempt.code)
    if attempt.extraction_error is not None:
        return " ".join(attempt.response.split())
    return None


def repair_similarity(previous: Attempt, repair: Attempt) -> float | None:
    """difflib ratio (0..1) of the normalized code of a repair and the attempt it repairs; None when one has
    code and the other has none (a real change of kind, never 'unchanged')."""
    before, after = _comparable(previous), _comparable(repair)
    if before is None or after is None or (previous.code is None) != (repair.code is None):
        return None
    if before == after:
        return 1.0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    if matcher.real_quick_ratio() < UNCHANGED_SIMILARITY or matcher.quick_ratio() < UNCHANGED_SIMILARITY:
        return matcher.quick_ratio()
    return matcher.ratio()


def mark_unchanged(previous: Attempt, repair: Attempt) -> Attempt:
    """The repair, marked `unchanged` when its code is the same or nearly the same as the attempt it repairs."""
    similarity = repair_similarity(previous, repair)
    return replace(repair, unchanged=similarity is not None and similarity >= UNCHANGED_SIMILARITY)


def attempt_problem(attempt: Attempt) -> str:
    """One line naming what is wrong with an attempt ('' when nothing is)."""
    repeated = " (the repair repeated the code it was asked to fix)" if attempt.unchanged else ""
    if attempt.extraction_error is not None:
        return f"{attempt.extraction_error.kind}: {attempt.extraction_error.message}{repeated}"
    if attempt.check is not None and attempt.check.errors:
        return "; ".join(issue.describe() for issue in attempt.check.errors[:3]) + repeated
    return ""


@dataclass(frozen=True)
class DesignPrompt:
    """The variables of the designer prompt that change between tasks and iterations."""

    instruction: str
    env_description: str
    success_description: str
    history: tuple[str, ...] = ()
    policy_feedback: str = ""
    human_feedback: tuple[str, ...] = ()
    example: Example | None = None
    """A complete reward for another env of the card's family (few-shot); None: no example is shown."""


def designer_messages(card: EnvCard, prompt: DesignPrompt) -> tuple[Message, ...]:
    """Render the designer system and user prompts for a card and task."""
    system = render(
        "designer_system.j2",
        algorithm=card.train.algorithm,
        example_field=card.fields[0].name,
        action_dim=int(card.action.shape[0]) if card.action.shape else 1,
        discrete_actions=len(card.action.choices),
        uses_memory=card.uses_memory,
        example=prompt.example,
    )
    user = render(
        "designer_user.j2",
        instruction=prompt.instruction,
        env_description=prompt.env_description,
        success_description=prompt.success_description,
        history=list(prompt.history),
        policy_feedback=prompt.policy_feedback,
        human_feedback=list(prompt.human_feedback),
        uses_memory=card.uses_memory,
    )
    return (Message("system", system), Message("user", user))


def _problems(attempt: Attempt) -> list[str]:
    """Every error of an attempt, one line each, as the repair prompt lists them."""
    if attempt.extraction_error is not None:
        return [attempt.extraction_error.message]
    return [issue.describe() for issue in attempt.check.errors] if attempt.check is not None else []


def execution_feedback(attempt: Attempt, previous: Attempt | None = None) -> str:
    """Render the error feedback for a failed attempt; the kind of failure chooses the wording.

    `previous` is the attempt this one tried to repair: when this one is marked unchanged, the feedback
    says so and shows the previous attempt's errors again, so a repeated answer is not just re-judged.
    """
    repeated = None
    if attempt.unchanged and previous is not None:
        repeated = dict(
            identical=repair_similarity(previous, attempt) == 1.0,
            issues=_problems(previous),
        )
    if attempt.extraction_error is not None:
        summary = {
            "no_code": "No Python code was found in your answer.",
            "no_function": "Your code does not define the required function.",
            "syntax_error": "Your code does not parse.",
        }.get(attempt.extraction_error.kind, "No usable reward function was found in your answer.")
        return render("feedback_execution.j2", summary=summary, issues=_problems(attempt), warnings=[],
                      repeated=repeated)
    assert attempt.check is not None
    return render(
        "feedback_execution.j2",
        summary="It failed the checks run on real states of the environment.",
        issues=_problems(attempt),
        warnings=[issue.describe() for issue in attempt.check.warnings],
        repeated=repeated,
    )


def evaluate_response(text: str, checker: Checker) -> Attempt:
    """Extract the code from one response and check it; every line number then names a line of `text`.

    The checks see only the extracted code, whose lines differ from the answer's (prose before the fence,
    dropped example usage, added imports); the extraction's line map turns each issue's line into the line
    of the model's own answer, which is what the feedback and the stored report show.
    """
    from dataclasses import replace as replaced

    extracted = extract_reward_code(text)
    if isinstance(extracted, ExtractionError):
        return Attempt(text, None, extracted, (), None)
    report = checker(extracted.code)
    if extracted.line_map and any(issue.line is not None for issue in report.issues):
        issues = tuple(replaced(issue, line=extracted.answer_line(issue.line)) for issue in report.issues)
        report = replaced(report, issues=issues)
    return Attempt(text, extracted.code, None, extracted.notes, report)


def attempt_status(attempt: Attempt) -> CandidateStatus:
    if attempt.extraction_error is not None:
        return "extract_failed"
    if attempt.check is None or not attempt.check.ok:
        return "check_failed"
    return "ok"


def design_candidates(
    completer: Completer,
    card: EnvCard,
    prompt: DesignPrompt,
    checker: Checker,
    *,
    samples: int,
    task_key: str,
    iteration: int = 0,
    temperature: float = 1.0,
    repair_attempts: int = 1,
    on_event: EventSink | None = None,
    max_parallel_checks: int = 2,
    on_candidate: Callable[[Candidate], None] | None = None,
) -> tuple[tuple[Message, ...], list[Candidate]]:
    """Ask for `samples` candidates, extract and check each, and send failures back for repair.

    Returns the designer messages (for the record) and one Candidate per sample, in sample order.
    LLM errors propagate (the caller decides whether a run can go on); candidate faults never do.
    `on_candidate` gets each candidate as soon as it is final (after its repairs), so a caller can store
    it before the next one is repaired: a Ctrl-C then loses only the candidate in hand.
    """
    emit = on_event or (lambda *_a, **_k: None)
    messages = designer_messages(card, prompt)
    request = CompletionRequest(
        messages=messages, n=samples, temperature=temperature, purpose="designer",
        task_key=task_key, iteration=iteration,
    )
    emit("llm_request", purpose="designer", n=samples)
    completion = completer.complete(request)
    emit("llm_response", purpose="designer", n=len(completion.samples), cost_usd=completion.cost_usd)

    with ThreadPoolExecutor(max_workers=max(1, max_parallel_checks)) as pool:
        first_attempts = list(pool.map(lambda text: evaluate_response(text, checker), completion.samples))

    candidates = []
    for index, attempt in enumerate(first_attempts):
        attempts = [attempt]
        emit("candidate_checked", index=index, attempt=0, status=attempt_status(attempt))
        for round_index in range(repair_attempts):
            if attempt_status(attempts[-1]) == "ok":
                break
            repair_messages = messages + (
                Message("assistant", attempts[-1].response),
                Message("user", execution_feedback(attempts[-1], attempts[-2] if len(attempts) > 1 else None)),
            )
            repair_request = CompletionRequest(
                messages=repair_messages, n=1, temperature=temperature, purpose="repair",
                task_key=task_key, iteration=iteration, label=f"c{index}-r{round_index}",
            )
            emit("llm_request", purpose="repair", index=index, round=round_index)
            repaired = completer.complete(repair_request)
            attempts.append(mark_unchanged(attempts[-1], evaluate_response(repaired.samples[0], checker)))
            emit("candidate_checked", index=index, attempt=round_index + 1, status=attempt_status(attempts[-1]),
                 unchanged=attempts[-1].unchanged)
        candidate = Candidate(
            id=f"i{iteration}-c{index}",
            iteration=iteration,
            index=index,
            status=attempt_status(attempts[-1]),
            attempts=tuple(attempts),
        )
        candidates.append(candidate)
        if on_candidate is not None:
            on_candidate(candidate)
    return messages, candidates


def candidate_to_dict(candidate: Candidate) -> dict[str, Any]:
    """Everything about a candidate, responses included, so a resumed run needs no LLM call to rebuild it."""
    return {
        "id": candidate.id, "iteration": candidate.iteration, "index": candidate.index,
        "status": candidate.status, "parent": candidate.parent, "notes": list(candidate.notes),
        "attempts": [
            {
                "response": a.response, "code": a.code,
                "extraction_error": asdict(a.extraction_error) if a.extraction_error else None,
                "extract_notes": list(a.extract_notes),
                "check": a.check.to_dict() if a.check else None,
                "unchanged": a.unchanged,
            }
            for a in candidate.attempts
        ],
    }


def candidate_from_dict(data: dict[str, Any]) -> Candidate:
    attempts = tuple(
        Attempt(
            response=a["response"], code=a["code"],
            extraction_error=ExtractionError(**a["extraction_error"]) if a["extraction_error"] else None,
            extract_notes=tuple(a["extract_notes"]),
            check=CheckReport.from_dict(a["check"]) if a["check"] else None,
            unchanged=bool(a.get("unchanged", False)),
        )
        for a in data["attempts"]
    )
    return Candidate(id=data["id"], iteration=data["iteration"], index=data["index"], status=data["status"],
                     attempts=attempts, parent=data.get("parent"), notes=tuple(data.get("notes", ())))


def candidate_record(candidate: Candidate) -> dict[str, Any]:
    """JSON-able summary of a candidate for the store (code and responses are stored as files)."""
    final = candidate.final
    return {
        "id": candidate.id,
        "iteration": candidate.iteration,
        "index": candidate.index,
        "status": candidate.status,
        "attempts": len(candidate.attempts),
        "unchanged_repairs": candidate.unchanged_repairs,
        "attempts_text": candidate.attempts_text(),
        "failure": candidate.failure_summary(),
        "repaired_from": candidate.repaired_from(),
        "extract_notes": list(final.extract_notes),
        "check": final.check.to_dict() if final.check is not None else None,
    }
