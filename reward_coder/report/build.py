"""Read a run folder into plain dataclasses the report template renders. Reads only; never writes.

Everything comes from the files the loop stores (see reward_coder/loop.py for the layout). A run that
is still going, was stopped, or lost a file still reads: what is missing becomes None or empty, and
the report says so instead of failing.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reward_coder.errors import ConfigError

_OUTCOME_FILE = re.compile(r"^(?P<id>.+)\.rung(?P<rung>\d+)\.json$")
_FENCED = re.compile(r"```[a-zA-Z0-9_+-]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class DiffLine:
    kind: str
    """'add', 'del', 'hunk', 'meta' or 'ctx' (a CSS class in the template)."""
    text: str


@dataclass(frozen=True)
class CodeDiff:
    title: str
    lines: tuple[DiffLine, ...]
    added: int
    removed: int


@dataclass(frozen=True)
class AttemptView:
    number: int
    source: str
    """'designer', 'repair' or 'critic revision'."""
    problem: str
    """Why the attempt was not kept ('' for the one that was)."""
    code: str | None
    response: str
    unchanged: bool = False
    """A repair that sent back the same (or nearly the same) code as the attempt it was asked to fix."""


@dataclass(frozen=True)
class CriticRound:
    round: int
    verdict: str
    notes: tuple[str, ...]
    revision_status: str


@dataclass(frozen=True)
class CandidateView:
    id: str
    iteration: int
    status: str
    """Design status: 'ok' or why the candidate never reached training."""
    code: str | None
    attempts: tuple[AttemptView, ...]
    diffs: tuple[CodeDiff, ...]
    check_issues: tuple[tuple[str, str], ...]
    """(severity, message) of the final attempt's sandbox check."""
    direction: str
    """What the direction check found: 'reversed' (prefers the card's bad reference states), 'unclear'
    (does not tell them apart) or '' (right, or not checked)."""
    check_term_stats: dict[str, dict[str, float]]
    critic: tuple[CriticRound, ...]
    notes: tuple[str, ...]
    failure: str
    training: str | None
    """Training status ('ok', 'reward_failed', 'crashed') or None when not trained."""
    success_rate: float | None
    pruned_at_rung: int | None
    same_as: str | None
    analysis: str
    curve: tuple[dict[str, float], ...]
    eval: dict[str, Any]
    """Final evaluation summary (success_rate, native_return_mean, ...), episodes left out."""
    eval_term_stats: dict[str, dict[str, float]]
    train_term_stats: dict[str, dict[str, float]]
    timesteps: int | None
    wall_s: float | None
    training_failure: str
    rungs_run: int
    is_iteration_best: bool = False
    is_overall_best: bool = False


@dataclass(frozen=True)
class IterationView:
    index: int
    candidates: tuple[CandidateView, ...]
    best_candidate: str | None
    best_success_rate: float | None
    improved_overall_best: bool
    finished: bool
    """summary.json exists: the iteration completed."""
    best_before: dict[str, Any] | None
    """The overall best when this iteration started (what its designer prompt was shown)."""
    human_feedback: str
    policy_feedback: str
    analysis_md: str


@dataclass(frozen=True)
class LLMUsage:
    calls: int = 0
    cached: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    by_purpose: dict[str, dict[str, float]] = field(default_factory=dict)
    estimated: int = 0
    """Calls whose token counts were estimated with a tokenizer (the provider reported none or too few)."""
    cost_unknown: int = 0
    """Answers of a model with no known price (run with --allow-unpriced): cost_usd leaves them out."""
    replay_loose: int = 0
    """Replayed answers found by the loose key: recorded for another prompt (see `replay-loose:`)."""


@dataclass(frozen=True)
class RunView:
    root: Path
    run_id: str
    config: dict[str, Any]
    task: dict[str, Any]
    env_card_text: str
    state: dict[str, Any]
    best: dict[str, Any] | None
    best_code: str | None
    versions: dict[str, Any]
    iterations: tuple[IterationView, ...]
    usage: LLMUsage

    @property
    def status(self) -> str:
        return str(self.state.get("status", "unknown"))

    @property
    def all_candidates(self) -> tuple[CandidateView, ...]:
        return tuple(c for it in self.iterations for c in it.candidates)


# ------------------------------------------------------------------------------------------------
# Reading helpers
# ------------------------------------------------------------------------------------------------


def _read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: bad JSON or bytes that are not UTF-8
        return default


def _read_text(path: Path) -> str:
    try:  # a report shows what is there: bytes that are not UTF-8 are shown as U+FFFD, not a traceback
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The LLM journal's records; a torn last line (a crash mid-write) is ignored."""
    records = []
    for line in _read_text(path).splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


def llm_usage(records: list[dict[str, Any]]) -> LLMUsage:
    """Calls, tokens and cost, in total and per purpose (designer, repair, critic, analyzer, ...)."""
    by_purpose: dict[str, dict[str, float]] = {}
    totals = dict(calls=0, cached=0, errors=0, estimated=0, cost_unknown=0, replay_loose=0, prompt_tokens=0,
                  completion_tokens=0, cost_usd=0.0)
    for record in records:
        row = by_purpose.setdefault(str(record.get("purpose") or "other"),
                                    dict(calls=0, prompt_tokens=0, completion_tokens=0, cost_usd=0.0))
        values = dict(calls=1, prompt_tokens=int(record.get("prompt_tokens") or 0),
                      completion_tokens=int(record.get("completion_tokens") or 0),
                      cost_usd=float(record.get("cost_usd") or 0.0))
        for key, value in values.items():
            row[key] += value
            totals[key] += value
        totals["cached"] += bool(record.get("cached"))
        totals["errors"] += bool(record.get("error"))
        totals["estimated"] += bool(record.get("tokens_estimated"))
        totals["cost_unknown"] += bool(record.get("cost_unknown"))
        totals["replay_loose"] += record.get("replay_match") == "loose"
    return LLMUsage(by_purpose=by_purpose, **totals)


def is_run_folder(path: Path) -> bool:
    """A loop run (not a `generate` folder, not an unrelated folder): config.json and state.json."""
    return (path / "config.json").is_file() and (path / "state.json").is_file()


def code_diff(before: str, after: str, title: str, before_name: str, after_name: str) -> CodeDiff:
    """A unified diff as typed lines (difflib), so the template colours them without JavaScript."""
    lines = []
    added = removed = 0
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), before_name, after_name, lineterm=""):
        if line.startswith(("---", "+++")):
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind, added = "add", added + 1
        elif line.startswith("-"):
            kind, removed = "del", removed + 1
        else:
            kind = "ctx"
        lines.append(DiffLine(kind, line))
    return CodeDiff(title=title, lines=tuple(lines), added=added, removed=removed)


def _attempt_code(attempt: dict[str, Any]) -> str | None:
    """The attempt's extracted code, or the raw code block when extraction failed (e.g. a syntax error)."""
    if attempt.get("code"):
        return attempt["code"]
    blocks = _FENCED.findall(attempt.get("response") or "")
    return blocks[-1] if blocks else None


def _direction_finding(check: dict[str, Any]) -> str:
    """'reversed', 'unclear' or '' from a check report's direction-check issues (reward_coder.direction)."""
    from reward_coder.direction import REVERSED_RULE, UNCLEAR_RULE

    rules = {i.get("rule") for i in check.get("issues", [])}
    return "reversed" if REVERSED_RULE in rules else "unclear" if UNCLEAR_RULE in rules else ""


def _attempt_problem(attempt: dict[str, Any]) -> str:
    error = attempt.get("extraction_error")
    if error:
        return f"{error.get('kind', 'extraction_error')}: {error.get('message', '')}"
    check = attempt.get("check") or {}
    errors = [i for i in check.get("issues", []) if i.get("severity") == "error"]
    return "; ".join(f"{i.get('rule')}: {i.get('message')}" for i in errors[:3])


def _final_outcomes(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Per candidate: the outcome of its last rung, and how many rungs it ran."""
    last: dict[str, tuple[int, Path]] = {}
    counts: dict[str, int] = {}
    outcomes_dir = folder / "outcomes"
    if outcomes_dir.is_dir():
        for path in outcomes_dir.iterdir():
            match = _OUTCOME_FILE.match(path.name)
            if not match:
                continue
            cid, rung = match["id"], int(match["rung"])
            counts[cid] = counts.get(cid, 0) + 1
            if cid not in last or rung > last[cid][0]:
                last[cid] = (rung, path)
    return {cid: _read_json(path, {}) for cid, (_, path) in last.items()}, counts


def _find_code(root: Path, candidate_id: str, iteration: int | None = None) -> str | None:
    folders = [root / "iterations" / str(iteration)] if iteration is not None else sorted(
        (root / "iterations").glob("*"))
    for folder in folders:
        path = folder / "candidates" / f"{candidate_id}.py"
        if path.is_file():
            return _read_text(path)
    return None


# ------------------------------------------------------------------------------------------------
# Candidates and iterations
# ------------------------------------------------------------------------------------------------


def _candidate_view(root: Path, folder: Path, record: dict[str, Any], design_attempts: int,
                    reviews: list[dict[str, Any]], summary_row: dict[str, Any] | None,
                    outcome: dict[str, Any] | None, rungs_run: int, best_before: dict[str, Any] | None,
                    same_as: str | None) -> CandidateView:
    cid = record["id"]
    iteration = int(record.get("iteration", 0))
    attempts_raw = record.get("attempts", [])
    attempts = tuple(
        AttemptView(
            number=i + 1,
            source="designer" if i == 0 else ("repair" if i < design_attempts else "critic revision"),
            problem=_attempt_problem(a) if i < len(attempts_raw) - 1 or record.get("status") != "ok" else "",
            code=_attempt_code(a),
            response=a.get("response") or "",
            unchanged=bool(a.get("unchanged", False)),
        )
        for i, a in enumerate(attempts_raw)
    )
    code = _read_text(folder / "candidates" / f"{cid}.py") or (attempts_raw[-1].get("code") if attempts_raw else None)

    diffs: list[CodeDiff] = []
    first = attempts[0].code if attempts else None
    if code and first and len(attempts) > 1 and first != code:
        how = " and ".join(dict.fromkeys(a.source for a in attempts[1:]))
        diffs.append(code_diff(first, code, f"first attempt → final ({how})", f"{cid} attempt 1", f"{cid} final"))
    parent = record.get("parent")
    if code and parent:
        parent_code = _find_code(root, parent)
        if parent_code is not None:
            diffs.append(code_diff(parent_code, code, f"parent {parent} → this", parent, cid))
    if code and best_before and best_before.get("candidate") and best_before.get("candidate") != parent:
        best_id = best_before["candidate"]
        best_code = _find_code(root, best_id, best_before.get("iteration"))
        if best_code is not None:
            diffs.append(code_diff(best_code, code, f"best so far {best_id} → this", best_id, cid))

    final = attempts_raw[-1] if attempts_raw else {}
    check = final.get("check") or {}
    summary_row = summary_row or {}
    source = outcome or {}
    evaluation = {k: v for k, v in (source.get("eval") or {}).items() if k not in ("episodes", "term_stats")}
    training = summary_row.get("training") or (source.get("status") if source else None)
    success = summary_row.get("success_rate")
    if success is None and evaluation:
        success = evaluation.get("success_rate")
    return CandidateView(
        id=cid, iteration=iteration, status=str(record.get("status", "unknown")), code=code or None,
        attempts=attempts, diffs=tuple(diffs),
        check_issues=tuple((i.get("severity", "error"), f"{i.get('rule')}: {i.get('message')}")
                           for i in check.get("issues", [])),
        direction=_direction_finding(check),
        check_term_stats=dict(check.get("term_stats") or {}),
        critic=tuple(CriticRound(int(r.get("round", 0)), str(r.get("verdict", "")), tuple(r.get("notes", [])),
                                 str(r.get("revision_status", ""))) for r in reviews),
        notes=tuple(record.get("notes", [])),
        failure=summary_row.get("failure") or ("" if record.get("status") == "ok" else _attempt_problem(final)),
        training=training, success_rate=success, pruned_at_rung=summary_row.get("pruned_at_rung"),
        same_as=same_as, analysis=str(summary_row.get("analysis", "")),
        curve=tuple(source.get("curve") or ()), eval=evaluation,
        eval_term_stats=dict((source.get("eval") or {}).get("term_stats") or {}),
        train_term_stats=dict(source.get("train_term_stats") or {}),
        timesteps=source.get("timesteps"), wall_s=source.get("wall_s"),
        training_failure=str(source.get("failure") or ""), rungs_run=rungs_run,
    )


def _iteration_view(root: Path, index: int, best_before: dict[str, Any] | None,
                    overall_best: dict[str, Any] | None) -> IterationView:
    folder = root / "iterations" / str(index)
    design = _read_json(folder / "design.json", []) or []
    critic = _read_json(folder / "critic.json", {}) or {}
    summary = _read_json(folder / "summary.json")
    records = critic.get("candidates") or design
    design_attempts = {c["id"]: len(c.get("attempts", [])) for c in design}
    reviews: dict[str, list[dict[str, Any]]] = {}
    for review in critic.get("reviews", []):
        reviews.setdefault(review.get("candidate_id", ""), []).append(review)
    rows = {c["id"]: c for c in (summary or {}).get("candidates", [])}
    outcomes, rung_counts = _final_outcomes(folder)
    best_id = (summary or {}).get("best_candidate")
    candidates = []
    for record in records:
        cid = record["id"]
        same_as = rows.get(cid, {}).get("same_as")
        trained_as = same_as or cid
        outcome = outcomes.get(trained_as)
        if outcome is not None and not outcome.get("curve"):
            curve = _read_json(folder / "training" / trained_as / "curve.json", [])
            outcome = {**outcome, "curve": curve or []}
        view = _candidate_view(root, folder, record, design_attempts.get(cid, len(record.get("attempts", []))),
                               reviews.get(cid, []), rows.get(cid), outcome, rung_counts.get(trained_as, 0),
                               best_before, same_as)
        view = _replace(view, is_iteration_best=cid == best_id,
                        is_overall_best=bool(overall_best) and overall_best.get("candidate") == cid
                        and int(overall_best.get("iteration", -1)) == index)
        candidates.append(view)
    return IterationView(
        index=index, candidates=tuple(candidates), best_candidate=best_id,
        best_success_rate=(summary or {}).get("best_success_rate"),
        improved_overall_best=bool((summary or {}).get("improved_overall_best")),
        finished=summary is not None, best_before=best_before,
        human_feedback=_read_text(folder / "feedback.txt").strip(),
        policy_feedback=_read_text(folder / "policy_feedback.txt").strip(),
        analysis_md=_read_text(folder / "analysis.md").strip(),
    )


def _replace(view: CandidateView, **changes: Any) -> CandidateView:
    from dataclasses import replace

    return replace(view, **changes)


def _iteration_indices(root: Path) -> list[int]:
    folder = root / "iterations"
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


def read_run(run_dir: str | Path) -> RunView:
    """Everything the report shows, read from the run folder. Raises ConfigError if it is not a run."""
    root = Path(run_dir)
    if not root.is_dir():
        raise ConfigError(f"'{root}' does not exist; list runs with `reward-coder runs`")
    if not is_run_folder(root):
        raise ConfigError(f"'{root}' is not a run folder (it needs config.json and state.json); "
                          "list runs with `reward-coder runs`")
    state = _read_json(root / "state.json", {}) or {}
    best = _read_json(root / "best.json")
    iterations = []
    best_before: dict[str, Any] | None = None
    for index in _iteration_indices(root):
        view = _iteration_view(root, index, best_before, best)
        iterations.append(view)
        summary = _read_json(root / "iterations" / str(index) / "summary.json") or {}
        best_before = summary.get("overall_best") or best_before
    return RunView(
        root=root, run_id=root.resolve().name, config=_read_json(root / "config.json", {}) or {},
        task=_read_json(root / "task.json", {}) or {}, env_card_text=_read_text(root / "env_card.txt"),
        state=state, best=best, best_code=_read_text(root / "best.py") or None,
        versions=_read_json(root / "versions.json", {}) or {}, iterations=tuple(iterations),
        usage=llm_usage(read_journal(root / "llm_journal.jsonl")),
    )
