"""Check one candidate end to end: static check, a sandboxed run on real states, the verdict.

Never raises for the candidate's faults: everything it does wrong becomes a CheckIssue in the
CheckReport (errors make `ok` false; warnings go to the critic and the designer).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from reward_coder.sandbox.isolation import IsolationStatus, detect_isolation
from reward_coder.sandbox.static import static_check
from reward_coder.sandbox.verdict import (
    LATENCY_BUDGET_MS,
    issue_from_error,
    judge_call,
    judge_determinism,
    judge_sample,
    stats_of,
    term_stats,
)
from reward_coder.sandbox.worker import RawOutput, SandboxedReward, SandboxLimits
from reward_coder.types import CheckIssue, CheckReport

if TYPE_CHECKING:
    from reward_coder.direction import DirectionReference, SideScore

Fields = Mapping[str, np.ndarray]
Transition = tuple[Fields, np.ndarray, Fields]


class TransitionBatchLike(Protocol):
    """Anything with named-field `state` / `next_state` mappings and an `action` array, batch first."""

    state: Fields
    action: np.ndarray
    next_state: Fields


DEFAULT_CHUNK = 64
"""States per call: the size of a typical vectorized-env batch, so latency is measured as in training."""


def check_candidate(
    code: str,
    *,
    field_names: Sequence[str] | None,
    batches: TransitionBatchLike | Transition | Sequence[Transition],
    limits: SandboxLimits = SandboxLimits(),
    isolation: IsolationStatus | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    latency_budget_ms: float = LATENCY_BUDGET_MS,
    scratch_dir: str | os.PathLike[str] | None = None,
    skip_static: bool = False,
    direction: Sequence[DirectionReference] = (),
    strict_direction: bool = False,
) -> CheckReport:
    """Check `code` on the given transitions (states from random and scripted rollouts).

    `batches` is a TransitionBatch-like object, one (state, action, next_state) triple, or a sequence
    of them; each is split into calls of `chunk_size` states. `skip_static` is for tests only: it
    turns the static check and the worker's Python guards off to show the OS layer alone.
    `direction` holds the task's reference states of known quality (reward_coder.direction); a
    candidate that passes everything else is scored on them, and one that prefers the bad states gets
    a `direction-reversed` warning, or an error when `strict_direction`.
    """
    isolation = isolation or detect_isolation()
    issues: list[CheckIssue] = []
    if not skip_static:
        issues = static_check(code, field_names)
        if any(i.severity == "error" for i in issues):
            return CheckReport(ok=False, issues=tuple(issues), isolation=isolation.level)
    steps = _env_steps(batches) if takes_memory(code) else None
    chunks = [chunk for chunk, _ in steps] if steps else list(_chunks(batches, chunk_size))
    resets = [reset for _, reset in steps] if steps else ["all"] + [None] * (len(chunks) - 1)
    if not chunks:
        raise ValueError("check_candidate needs at least one state to score")
    with SandboxedReward(
        code, field_names=field_names, limits=limits, isolation=isolation, scratch_dir=scratch_dir,
        skip_static=skip_static,
    ) as sandbox:
        if sandbox.start_error is not None:
            issues.append(issue_from_error(sandbox.start_error))
            return CheckReport(ok=False, issues=tuple(issues), isolation=isolation.level)
        outputs: list[RawOutput] = []
        for index, (state, action, next_state) in enumerate(chunks):
            # Memory (for candidates that take it) is emptied where an env's episode starts, as in training;
            # rollouts with their env layout are replayed one step (n_envs rows) per call for that.
            raw = sandbox.call(state, action, next_state, reset=resets[index])
            found = judge_call(raw, raw.n)
            issues += [i for i in found if i not in issues]
            if any(i.severity == "error" for i in found):
                return _report(issues, outputs, isolation, chunk_size, latency_budget_ms)
            outputs.append(raw)
        # After every other call, so state kept between calls shows up as well as randomness.
        state, action, next_state = chunks[0]
        again = sandbox.call(state, action, next_state, reset="all")
        found = judge_call(again, again.n)
        if not any(i.severity == "error" for i in found):
            found += judge_determinism(outputs[0], again)
        issues += [i for i in found if i not in issues]
        scored: list[tuple[DirectionReference, SideScore, SideScore]] = []
        if direction and not any(i.severity == "error" for i in issues):
            scored, found = _score_direction(sandbox, direction, chunk_size)
            issues += [i for i in found if i not in issues]
    report = _report(issues, outputs, isolation, chunk_size, latency_budget_ms)
    return _judge_direction(report, scored, strict_direction) if scored and report.ok else report


def _score_direction(
    sandbox: SandboxedReward, references: Sequence[DirectionReference], chunk_size: int,
) -> tuple[list[tuple[DirectionReference, SideScore, SideScore]], list[CheckIssue]]:
    """The candidate's reward on both sides of every pair; issues of a call that fails there (real states too).

    Each call starts with fresh memory for every row: reference rows are states of separate rollouts,
    not one env layout, so a candidate with memory sees each as an episode's first step.
    """
    from reward_coder.direction import SideScore

    scored = []
    for reference in references:
        sides = []
        for batch in (reference.good, reference.bad):
            rewards, terms = [], []
            for state, action, next_state in _chunks(batch, chunk_size):
                raw = sandbox.call(state, action, next_state, reset="all")
                found = judge_call(raw, raw.n)
                if any(i.severity == "error" for i in found):
                    where = f"on the reference states of '{reference.pair}'"
                    return [], [replace(i, message=f"{i.message} ({where})") for i in found]
                rewards.append(np.asarray(raw.reward, dtype=np.float64))
                terms.append(raw.terms)
            names = [k for k in terms[0] if all(k in t for t in terms)]
            rollout = getattr(batch, "env_index", None)
            sides.append(SideScore(
                reward=np.concatenate(rewards),
                terms={k: np.concatenate([np.asarray(t[k], dtype=np.float64) for t in terms]) for k in names},
                rollout=np.asarray(rollout) if rollout is not None else np.zeros(sum(r.size for r in rewards), int),
            ))
        scored.append((reference, sides[0], sides[1]))
    return scored, []


def _judge_direction(report: CheckReport, scored: Sequence[tuple[DirectionReference, SideScore, SideScore]],
                     strict: bool) -> CheckReport:
    """Add the direction issues to a passing report; with `strict`, a reversed reward fails it."""
    from reward_coder.direction import judge_direction

    scale = report.reward_stats.std if report.reward_stats else 0.0
    term_scales = {name: stats.std for name, stats in report.term_stats.items()}
    found: list[CheckIssue] = []
    for reference, good, bad in scored:
        found += judge_direction(reference, good, bad, scale=scale, term_scales=term_scales, strict=strict)
    if not found:
        return report
    issues = report.issues + tuple(found)
    return replace(report, ok=not any(i.severity == "error" for i in issues), issues=issues)


def _report(
    issues: list[CheckIssue],
    outputs: list[RawOutput],
    isolation: IsolationStatus,
    chunk_size: int,
    latency_budget_ms: float,
) -> CheckReport:
    ok = not any(i.severity == "error" for i in issues)
    if not outputs:
        return CheckReport(ok=ok, issues=tuple(issues), isolation=isolation.level)
    reward = np.concatenate([np.asarray(o.reward, dtype=np.float64) for o in outputs])
    names = [k for k in outputs[0].terms if all(k in o.terms for o in outputs)]
    terms = {k: np.concatenate([np.asarray(o.terms[k], dtype=np.float64) for o in outputs]) for k in names}
    compute_s = [o.compute_s for o in outputs if o.compute_s is not None]
    if ok:
        found = judge_sample(reward, terms, compute_s, chunk_size=chunk_size, latency_budget_ms=latency_budget_ms)
        issues = issues + [i for i in found if i not in issues]
    return CheckReport(
        ok=ok,
        issues=tuple(issues),
        term_stats=term_stats(terms),
        reward_stats=stats_of(reward),
        call_ms=float(np.median(compute_s)) * 1e3 if compute_s else None,
        isolation=isolation.level,
        n_states=int(reward.size),
    )


def takes_memory(code: str | None) -> bool:
    """True when compute_reward takes the per-environment `memory` argument (a 4th parameter)."""
    import ast

    try:
        tree = ast.parse(code or "")
    except SyntaxError:
        return False
    return any(isinstance(node, ast.FunctionDef) and node.name == "compute_reward" and len(node.args.args) >= 4
               for node in tree.body)


def _env_steps(batches: Any) -> list[tuple[tuple[Any, Any, Any], Any]] | None:
    """One call per env step with the rows whose episode starts there, when the batch says its layout."""
    n_envs = int(getattr(batches, "n_envs", 0) or 0)
    starts = getattr(batches, "episode_start", None)
    if n_envs <= 0 or starts is None or len(starts) % n_envs:
        return None
    steps = []
    for first in range(0, len(starts), n_envs):
        rows = slice(first, first + n_envs)
        chunk = ({k: np.asarray(v)[rows] for k, v in batches.state.items()}, np.asarray(batches.action)[rows],
                 {k: np.asarray(v)[rows] for k, v in batches.next_state.items()})
        fresh = np.flatnonzero(np.asarray(starts[rows]))
        reset = "all" if fresh.size == n_envs else (fresh if fresh.size else None)
        steps.append((chunk, reset))
    return steps


def _chunks(batches: Any, size: int):
    if hasattr(batches, "state") and hasattr(batches, "next_state") and hasattr(batches, "action"):
        triples = [(batches.state, batches.action, batches.next_state)]
    elif isinstance(batches, tuple) and len(batches) == 3 and isinstance(batches[0], Mapping):
        triples = [batches]
    else:
        triples = list(batches)
    for state, action, next_state in triples:
        action = np.asarray(action)
        total = int(action.shape[0])
        for start in range(0, total, size):
            stop = min(start + size, total)
            yield (
                {k: np.asarray(v)[start:stop] for k, v in state.items()},
                action[start:stop],
                {k: np.asarray(v)[start:stop] for k, v in next_state.items()},
            )
