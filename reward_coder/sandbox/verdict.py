"""The verdict on a candidate's raw outputs, decided in the parent from numbers only.

Pure functions over RawOutput values; nothing the candidate printed is read. Each `judge_*`
returns CheckIssues whose messages state the value found, like gymnasium's env checker, phrased so
they can go back to the designer LLM as they are.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence

import numpy as np

from reward_coder.sandbox.worker import CallError, RawOutput
from reward_coder.types import CheckIssue, TermStats

MAGNITUDE_ERROR = 1e6
"""|reward| above this breaks value learning outright (PPO's critic, SAC's Q-targets)."""
MAGNITUDE_WARNING = 1e4
"""|reward| above this usually needs normalization; well-scaled rewards stay within +-100 per step."""
SCALE_RATIO = 100.0
"""A term whose mean |value| is this many times the median of the others drowns them."""
LATENCY_BUDGET_MS = 5.0
"""Per call on a chunk of 64 states. A PPO step on 4 MuJoCo envs takes ~1 ms; a reward that costs
several ms per call slows training several-fold."""

_ERROR_RULES = {
    "exception": "runtime-error",
    "memory": "memory-limit",
    "timeout": "timeout",
    "crashed": "worker-crashed",
    "forbidden": "forbidden-syscall",
    "protocol": "protocol-violation",
    "start": "sandbox-failure",
    "load": "load-error",
    "closed": "sandbox-closed",
}


PROGRAM_OUTPUT_CHARS = 300
"""Most characters of a candidate's own text (an exception message) that go back to the designer LLM."""
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
"""ANSI/VT escape sequences: CSI (colours, cursor moves), OSC (titles, links), and lone escapes."""


def program_output(text: object, limit: int = PROGRAM_OUTPUT_CHARS) -> str:
    """Text a candidate produced (an exception message), made into a quoted, bounded, inert string.

    What a failing candidate says goes back into the designer's prompt, so it is a channel from untrusted
    code to the LLM. This keeps it data: escape sequences and control, format (bidi overrides, zero-width)
    and private-use characters go, whitespace runs become one space, backticks become quotes (so it cannot
    open a code block), it is cut to `limit` characters, and it is returned as one JSON string literal,
    which the feedback templates label as program output.
    """
    raw = text if isinstance(text, str) else str(text)
    cleaned = _ESCAPES.sub(" ", raw[: 4 * limit])
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp") else ch for ch in cleaned)
    cleaned = " ".join(cleaned.replace("`", "'").split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 3] + "..."
    return json.dumps(cleaned, ensure_ascii=False)


def _error(rule: str, message: str, *, line: int | None = None, term: str | None = None) -> CheckIssue:
    return CheckIssue(rule=rule, message=message, severity="error", line=line, term=term)


def _warning(rule: str, message: str, *, term: str | None = None) -> CheckIssue:
    return CheckIssue(rule=rule, message=message, severity="warning", term=term)


_TEACHING = (
    # (exception type, text in its message, what the contract says and the line to write instead)
    ("ValueError", "truth value of an array",
     "`if`, `and`, `or` and `not` need one True/False, but a comparison of state values gives one per "
     "environment (the whole batch): choose element-wise, e.g. `bonus = np.where(x > 0.9, 1.0, 0.0)` instead of "
     "`if x > 0.9: bonus = 1.0`, and combine conditions with & and | (each in parentheses)"),
    ("TypeError", "arrays can be converted to python scalars",
     "a function of one number (math.cos, math.sqrt, float, int) got an array: fields hold one value per "
     "environment, so use numpy's element-wise functions, e.g. `np.cos(x)` instead of `math.cos(x)`"),
    ("IndexError", "only integers, slices",
     "an array was indexed with a name: only state and next_state have named fields (next_state.x or "
     "next_state[\"x\"]); action is a plain array with one row per environment, e.g. `action[:, 0]`"),
    ("IndexError", "too many indices for array",
     "a field without components (shape ()) is an array of shape (n_envs,), one value per environment: use "
     "it whole, e.g. `x = next_state.x`, not `next_state.x[:, 0]`"),
)
"""Known exceptions of code that misreads the contract, each with a one-line lesson and a corrected line."""


def teaching_hint(exc_type: str, message: str) -> str | None:
    """The lesson for an exception that shows a misread contract, or None."""
    lowered = message.lower()
    for known_type, text, hint in _TEACHING:
        if exc_type == known_type and text.lower() in lowered:
            return hint
    return None


def issue_from_error(error: CallError) -> CheckIssue:
    """The CheckIssue for a call that produced no output. The candidate's own words (its exception message)
    appear only quoted, through program_output; the rest of the message is ours."""
    rule = _ERROR_RULES.get(error.kind, "runtime-error")
    quoted = program_output(error.message)
    if error.kind == "exception":
        message = f"compute_reward raised {error.exc_type} with the message (program output) {quoted}"
    elif error.kind == "memory":
        message = f"compute_reward exceeded the worker's memory limit ({error.exc_type}, program output {quoted})"
    elif error.kind == "load":
        message = f"loading the code failed with {error.exc_type}, message (program output) {quoted}"
    else:
        message = error.message  # written by the sandbox itself (timeouts, crashes), not by the candidate
    hint = teaching_hint(error.exc_type, error.message) if error.kind in ("exception", "load") else None
    if hint is not None:
        message = f"{message}; {hint}"
    return _error(rule, message, line=error.line)


def _describe_nonfinite(values: np.ndarray, what: str) -> str | None:
    if values.dtype.kind != "f":
        return None
    finite = np.isfinite(values)
    if finite.all():
        return None
    nan = int(np.isnan(values).sum())
    inf = int(values.size - finite.sum() - nan)
    parts = [f"NaN in {nan}" if nan else "", f"+-inf in {inf}" if inf else ""]
    found = " and ".join(p for p in parts if p)
    return (
        f"{what} is {found} of {values.size} states (division by zero, log or sqrt of a non-positive "
        "number, or overflow); guard with a small epsilon or np.clip"
    )


def judge_call(raw: RawOutput, n: int) -> list[CheckIssue]:
    """Issues with one call's output: contract, shapes, finiteness, magnitude, input mutation."""
    if raw.error is not None:
        return [issue_from_error(raw.error)]
    issues: list[CheckIssue] = []
    if raw.returned_problem is not None:
        if raw.returned_problem.code == "too_large":
            return [_error("output-too-large", f"compute_reward returned {raw.returned_problem.detail}, far more "
                                               f"data than one value per state; return shape ({n},)")]
        return [_error("bad-return", "compute_reward must return a pair (reward, terms) with terms a dict of "
                                     f"named arrays; it returned {raw.returned_problem.detail}")]
    if raw.reward_problem is not None:
        rule = "output-too-large" if raw.reward_problem.code == "too_large" else "reward-type"
        issues.append(_error(rule, f"the reward must be a float array of shape ({n},); got {raw.reward_problem.detail}"))
    elif raw.reward is not None:
        issues += _judge_values(raw.reward, n, "the reward", term=None)
    if raw.terms_problem is not None:
        issues.append(_error("terms-type", "terms must be a dict mapping names to arrays of shape "
                                           f"({n},); got {raw.terms_problem.detail}"))
    for name, problem in raw.term_problems.items():
        rule = "output-too-large" if problem.code == "too_large" else "term-type"
        issues.append(_error(rule, f"term '{name}' must be a float array of shape ({n},); got {problem.detail}", term=name))
    for name, values in raw.terms.items():
        issues += _judge_values(values, n, f"term '{name}'", term=name)
    if raw.mutated:
        fields = ", ".join(raw.mutated)
        issues.append(_error(
            "input-mutation",
            f"compute_reward changed its inputs in place ({fields}); they belong to the environment: copy "
            "before modifying (x = state.x.copy()) and avoid in-place operators (+=, [:] =) on fields",
        ))
    if raw.terms_problem is None and not raw.terms and not raw.term_problems:
        issues.append(_warning("no-terms", "terms is empty: return the reward's named components so training "
                                           "can be analysed term by term"))
    return issues


def _judge_values(values: np.ndarray, n: int, what: str, term: str | None) -> list[CheckIssue]:
    rule_shape = "term-shape" if term else "reward-shape"
    if values.shape != (n,):
        hint = ""
        if values.ndim == 0 and term is not None:
            hint = " (a single number: a sum or mean over the whole batch?)"
        elif values.ndim == 0:
            hint = (" (a single number: a sum or mean over the whole batch? compute_reward scores one step of "
                    "many environments at once, and each row of a field is a different environment, not a step of "
                    "an episode: return one value per row, e.g. `reward = np.where(x > 0.9, 1.0, 0.0)` rather than "
                    "`np.mean(x) > 0.9`; episode averages such as the success metric are computed by us)")
        elif values.ndim == 2 and values.shape[0] == n:
            hint = " (one value per state and feature: sum over axis=1?)"
        return [_error(rule_shape, f"{what} has shape {values.shape}, expected ({n},): one value per state{hint}", term=term)]
    nonfinite = _describe_nonfinite(values, what)
    if nonfinite is not None:
        return [_error("non-finite", nonfinite, term=term)]
    if values.dtype.kind == "c":  # pragma: no cover - the protocol refuses complex arrays
        return [_error(rule_shape, f"{what} is complex", term=term)]
    biggest = float(np.max(np.abs(values.astype(np.float64)))) if values.size else 0.0
    if term is None and biggest > MAGNITUDE_ERROR:
        return [_error("reward-magnitude", f"{what} reaches {biggest:.3g} in absolute value; keep per-step rewards "
                                           f"far below {MAGNITUDE_ERROR:.0e} (about +-100 is typical)")]
    if term is None and biggest > MAGNITUDE_WARNING:
        return [_warning("reward-scale", f"{what} reaches {biggest:.3g} in absolute value; per-step rewards "
                                         "beyond +-1e4 usually need rescaling")]
    return []


def judge_determinism(first: RawOutput, second: RawOutput) -> list[CheckIssue]:
    """Same input twice must give the same output (no randomness, no state kept between calls)."""
    if first.error is not None or second.error is not None or first.reward is None or second.reward is None:
        return []
    differences = []
    pairs = [("the reward", first.reward, second.reward)]
    pairs += [(f"term '{k}'", first.terms[k], second.terms.get(k)) for k in first.terms]
    for what, a, b in pairs:
        if b is None or a.shape != b.shape:
            differences.append((what, float("inf")))
        elif not np.array_equal(a, b, equal_nan=True):
            diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
            differences.append((what, float(np.nanmax(diff)) if np.isfinite(diff).any() else float("inf")))
    if set(first.terms) != set(second.terms):
        differences.append(("the set of terms", float("inf")))
    if not differences:
        return []
    what, size = differences[0]
    return [_error(
        "non-deterministic",
        f"{what} differed between two calls on the same states (largest difference {size:.3g}): remove "
        "randomness (np.random) and anything that carries over between calls",
    )]


def stats_of(values: np.ndarray) -> TermStats:
    """Mean, std, min, max and mean |value| over the finite entries."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        nan = float("nan")
        return TermStats(mean=nan, std=nan, min=nan, max=nan, abs_mean=nan)
    return TermStats(
        mean=float(values.mean()),
        std=float(values.std()),
        min=float(values.min()),
        max=float(values.max()),
        abs_mean=float(np.abs(values).mean()),
    )


def term_stats(terms: Mapping[str, np.ndarray]) -> dict[str, TermStats]:
    """TermStats per term over a sample (arrays of shape (N,))."""
    return {name: stats_of(values) for name, values in terms.items()}


def _is_constant(values: np.ndarray) -> bool:
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return False
    spread = float(finite.max() - finite.min())
    return spread <= 1e-12 * max(1.0, float(np.abs(finite).max()))


def judge_sample(
    reward: np.ndarray,
    terms: Mapping[str, np.ndarray],
    compute_s: Sequence[float],
    *,
    chunk_size: int,
    latency_budget_ms: float = LATENCY_BUDGET_MS,
    source: str = "sampled",
) -> list[CheckIssue]:
    """Issues visible only over many states: constant reward or terms, a dominating term, slowness."""
    issues: list[CheckIssue] = []
    count = int(np.asarray(reward).size)
    if _is_constant(reward):
        issues.append(_warning(
            "constant-reward",
            f"the reward is {float(np.asarray(reward).ravel()[0]):.6g} on all {count} {source} states: it gives "
            "no learning signal",
        ))
    for name, values in terms.items():
        if not _is_constant(values):
            continue
        value = float(np.asarray(values).ravel()[0])
        if value == 0.0:
            message = (
                f"term '{name}' is 0.0 on all {count} {source} states: its condition may never be true on "
                "reachable states (exact == on continuous values, a threshold out of range, or a sign error)"
            )
        else:
            message = (
                f"term '{name}' is {value:.6g} on all {count} {source} states: a constant term changes no "
                "decision (unless it is an alive bonus that matters through early termination)"
            )
        issues.append(_warning("constant-term", message, term=name))
    issues += _judge_term_scales(terms)
    if compute_s:
        median_ms = float(np.median(compute_s)) * 1e3
        if median_ms > latency_budget_ms:
            issues.append(_warning(
                "slow-reward",
                f"compute_reward takes {median_ms:.1f} ms per call on {chunk_size} states (budget "
                f"{latency_budget_ms:g} ms); it runs at every environment step: vectorize with numpy "
                "instead of Python loops over states",
            ))
    return issues


def _judge_term_scales(terms: Mapping[str, np.ndarray]) -> list[CheckIssue]:
    scales = {}
    for name, values in terms.items():
        finite = np.asarray(values, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if finite.size:
            scale = float(np.abs(finite).mean())
            if scale > 0:
                scales[name] = scale
    issues = []
    if len(scales) < 2:
        return issues
    for name, scale in scales.items():
        others = {k: v for k, v in scales.items() if k != name}
        median = float(np.median(list(others.values())))
        if scale >= SCALE_RATIO * median:
            closest = min(others, key=lambda k: abs(np.log(others[k]) - np.log(median)))
            issues.append(_warning(
                "term-scale",
                f"term '{name}' (mean |value| {scale:.3g}) is {scale / median:.0f}x larger than the other terms "
                f"(e.g. '{closest}', mean |value| {others[closest]:.3g}): they will hardly affect learning; "
                "rescale the terms",
                term=name,
            ))
    return issues
