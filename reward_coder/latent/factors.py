"""The latent-factor contract (DESIGN "The latent-factor contract") and its checks on real states.

What the LLM writes:

    FACTORS = (("forward_speed", "torso velocity along +x, m/s"), ...)   # name, one-line meaning

    def compute_factors(state, action, next_state):
        ...
        return factors                                                      # shape (n_envs, len(FACTORS))

The names live in a module-level constant rather than in the return value: they can be read without
running the code, and every call necessarily gives the same names in the same order.

The checks reuse the reward sandbox unchanged: the factor code gets a small `compute_reward` appended
(`shimmed`) that calls compute_factors, checks the shape, and returns a zero reward with one term per
factor. The static allow-list, the sandboxed run on real states, finiteness and determinism are then
the reward candidate's own checks; what is particular to factors (constant factors, factors that
duplicate each other, the FACTORS list itself) is judged here from the factor values.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from reward_coder.types import CheckIssue, CheckReport, ExtractedCode, ExtractionError

FACTOR_FUNCTION = "compute_factors"
FACTORS_CONSTANT = "FACTORS"
MAX_FACTORS = 32
"""LaRe's factor functions have 3-10 factors; 32 leaves room and keeps the decoder small."""
DUPLICATE_CORRELATION = 0.999
"""|Pearson r| at or above this over the sampled states makes two factors one factor twice."""
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")

SHIM = '''

def compute_reward(state, action, next_state):
    """Added by reward-coder (not part of the answer): runs compute_factors as a reward with one term per factor."""
    factors = np.asarray(compute_factors(state, action, next_state), dtype=np.float64)
    n = np.shape(action)[0]
    if factors.ndim != 2 or factors.shape[0] != n or factors.shape[1] != len(FACTORS):
        raise ValueError("compute_factors must return an array of shape (" + str(n) + ", " + str(len(FACTORS))
                         + "): one row per environment and one column per entry of FACTORS; it returned shape "
                         + str(factors.shape))
    terms = {}
    for index in range(len(FACTORS)):
        terms[FACTORS[index][0]] = factors[:, index]
    return np.zeros(n), terms
'''
"""Appended after the answer's code, so every line number of an issue in the answer's code stays right."""

_REWARD_ONLY_RULES = frozenset({"constant-reward", "term-scale", "no-terms", "reward-scale"})
"""Sandbox verdicts about a reward that say nothing about factors: the shim's reward is 0 by design, and
factors in different units are what the decoder's standardization is for."""


@dataclass(frozen=True)
class FactorSpec:
    """One latent factor: its name (a column of the factor array) and what it measures."""

    name: str
    meaning: str


def shimmed(code: str) -> str:
    """The factor code with the compute_reward shim appended, as the sandbox and the trainer run it."""
    return code.rstrip() + "\n" + SHIM


def extract_factor_code(text: str) -> ExtractedCode | ExtractionError:
    """The factor module of an LLM answer (the reward extractor, asked for compute_factors and FACTORS)."""
    from reward_coder.extract import extract_reward_code

    extracted = extract_reward_code(text, function_name=FACTOR_FUNCTION)
    if isinstance(extracted, ExtractionError):
        message = extracted.message.replace("returning (reward, terms)",
                                            "returning an array of shape (n_envs, len(FACTORS))")
        return replace(extracted, message=message)
    return _keep_factor_list(text, extracted)


def _assigns_factors(module: ast.Module) -> ast.Assign | None:
    return next((n for n in module.body if isinstance(n, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == FACTORS_CONSTANT for t in n.targets)), None)


def _keep_factor_list(text: str, extracted: ExtractedCode) -> ExtractedCode:
    """Put FACTORS back when the reward extractor dropped it as data no function reads: for factors it is
    part of the contract (read by the shim that is appended later), not example usage."""
    from reward_coder.extract import _fenced_blocks

    try:
        if _assigns_factors(ast.parse(extracted.code)) is not None:
            return extracted
    except SyntaxError:
        return extracted
    blocks, offsets = _fenced_blocks(text)
    found: tuple[list[str], int] | None = None
    for block, offset in zip(blocks, offsets):
        try:
            node = _assigns_factors(ast.parse(block))
        except SyntaxError:
            continue
        if node is not None:  # the last definition wins, as for the function itself
            lines = block.splitlines()[node.lineno - 1: node.end_lineno]
            found = (lines, offset + node.lineno)
    if found is None:
        return extracted
    lines, first = found
    code_lines = extracted.code.splitlines()
    tree = ast.parse(extracted.code)
    imports = [n.end_lineno for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    at = max(imports) if imports else 0
    new_lines = code_lines[:at] + ([""] if at else []) + lines + [""] + code_lines[at:]
    line_map = list(extracted.line_map) if extracted.line_map else [None] * len(code_lines)
    added = ([None] if at else []) + [first + k for k in range(len(lines))] + [None]
    line_map = line_map[:at] + added + line_map[at:]
    notes = tuple(n for n in extracted.notes if not (n.startswith("dropped example usage") and FACTORS_CONSTANT in n))
    return replace(extracted, code="\n".join(new_lines).rstrip() + "\n", line_map=tuple(line_map), notes=notes)


def read_factor_specs(code: str) -> list[FactorSpec] | CheckIssue:
    """FACTORS as written (a literal tuple of (name, meaning) pairs), or the issue that says what is wrong."""
    def problem(message: str, line: int | None = None) -> CheckIssue:
        return CheckIssue(rule="factor-names", message=message, severity="error", line=line)

    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        return problem(f"the code does not parse: {err.msg}", err.lineno)
    node = next((n for n in tree.body if isinstance(n, ast.Assign)
                 and any(isinstance(t, ast.Name) and t.id == FACTORS_CONSTANT for t in n.targets)), None)
    if node is None:
        return problem(f"no module-level {FACTORS_CONSTANT} tuple: define {FACTORS_CONSTANT} = "
                       '(("name", "one-line meaning"), ...), a tuple with one entry per column of the factor array')
    try:
        value = ast.literal_eval(node.value)
    except ValueError:
        return problem(f"{FACTORS_CONSTANT} must be a literal tuple of (name, meaning) string pairs", node.lineno)
    if not isinstance(value, (list, tuple)) or not value:
        return problem(f"{FACTORS_CONSTANT} must be a non-empty tuple of (name, meaning) pairs", node.lineno)
    if len(value) > MAX_FACTORS:
        return problem(f"{FACTORS_CONSTANT} has {len(value)} entries; use at most {MAX_FACTORS} factors", node.lineno)
    specs: list[FactorSpec] = []
    for position, entry in enumerate(value):
        if (not isinstance(entry, (list, tuple)) or len(entry) != 2
                or not all(isinstance(part, str) for part in entry)):
            return problem(f"{FACTORS_CONSTANT}[{position}] is {entry!r:.60}, not a (name, meaning) pair of strings",
                           node.lineno)
        name, meaning = entry[0].strip(), " ".join(entry[1].split())
        if not _NAME.match(name):
            return problem(f"factor name {name!r:.50} must be lowercase letters, digits and '_' (a Python name)",
                           node.lineno)
        if any(spec.name == name for spec in specs):
            return problem(f"the factor name '{name}' appears twice in {FACTORS_CONSTANT}", node.lineno)
        if not meaning:
            return problem(f"factor '{name}' has no meaning; say in one line what it measures", node.lineno)
        specs.append(FactorSpec(name, meaning))
    return specs


@dataclass(frozen=True)
class FactorCheck:
    """The sandbox report of a factor function plus what is particular to factors."""

    report: CheckReport
    factors: tuple[FactorSpec, ...] = ()
    constant: tuple[str, ...] = ()
    duplicates: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.report.to_dict(),
            "factors": [{"name": f.name, "meaning": f.meaning} for f in self.factors],
            "constant": list(self.constant),
            "duplicates": [list(pair) for pair in self.duplicates],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FactorCheck":
        return cls(report=CheckReport.from_dict(data["report"]),
                   factors=tuple(FactorSpec(**f) for f in data["factors"]),
                   constant=tuple(data["constant"]), duplicates=tuple(tuple(p) for p in data["duplicates"]))


def _for_factors(issue: CheckIssue) -> CheckIssue:
    """A sandbox issue in the words of the factor contract (the shim is an implementation detail)."""
    message = issue.message.replace("compute_reward", FACTOR_FUNCTION)
    rule = {"constant-term": "constant-factor"}.get(issue.rule, issue.rule)
    message = message.replace("term '", "factor '").replace("a constant term changes no decision (unless it is "
                                                             "an alive bonus that matters through early termination)",
                                                             "a constant factor carries no information")
    return replace(issue, message=message, rule=rule)


def judge_factor_values(values: np.ndarray, names: Sequence[str]) -> tuple[list[CheckIssue], tuple[str, ...],
                                                                            tuple[tuple[str, str], ...]]:
    """Constant and duplicate factors over sampled rows (N, n_factors): warnings, and an error when every
    factor is constant (a decoder could then learn nothing but one number per step)."""
    values = np.asarray(values, dtype=np.float64)
    spread = values.max(axis=0) - values.min(axis=0)
    scale = np.maximum(1.0, np.abs(values).max(axis=0))
    constant = tuple(name for name, s, c in zip(names, spread, scale) if s <= 1e-9 * c)
    issues: list[CheckIssue] = []
    rows = values.shape[0]
    if constant and len(constant) == len(names):
        issues.append(CheckIssue(rule="constant-factors", severity="error", message=(
            f"every factor is constant on all {rows} sampled states: the factors must change with what the "
            "agent does, or no reward can be decoded from them")))
    live = [i for i, name in enumerate(names) if name not in constant]
    duplicates: list[tuple[str, str]] = []
    if len(live) >= 2:
        centred = values[:, live] - values[:, live].mean(axis=0)
        norms = np.linalg.norm(centred, axis=0)
        correlation = (centred.T @ centred) / np.outer(norms, norms)
        for a in range(len(live)):
            for b in range(a + 1, len(live)):
                if abs(correlation[a, b]) >= DUPLICATE_CORRELATION:
                    first, second = names[live[a]], names[live[b]]
                    duplicates.append((first, second))
                    issues.append(CheckIssue(rule="duplicate-factor", severity="warning", term=second, message=(
                        f"factor '{second}' duplicates factor '{first}' (correlation {correlation[a, b]:+.4f} over "
                        f"{rows} sampled states): it adds no information; measure something else or drop it")))
    return issues, constant, tuple(duplicates)


def _rows_in_chunks(batch: Any, size: int):
    """(state, action, next_state) slices of `size` rows of a TransitionBatch-like object."""
    action = np.asarray(batch.action)
    for start in range(0, int(action.shape[0]), size):
        rows = slice(start, start + size)
        yield ({k: np.asarray(v)[rows] for k, v in batch.state.items()}, action[rows],
               {k: np.asarray(v)[rows] for k, v in batch.next_state.items()})


def check_factors(code: str, *, field_names: Sequence[str] | None, batches: Any, isolation: Any = None,
                  limits: Any = None) -> FactorCheck:
    """Check a factor function on real transitions, in the sandbox: everything `check_candidate` checks of a
    reward (static allow-list, the run itself, shapes, finiteness, determinism, speed) plus the FACTORS list,
    the (batch, n_factors) shape, and constant or duplicate factors. Never raises for the code's faults.

    `batches`: a TransitionBatch (reward_coder.envs.sample_transitions), real states of the task's env."""
    from reward_coder.sandbox import SandboxedReward, SandboxLimits, check_candidate

    specs = read_factor_specs(code)
    if isinstance(specs, CheckIssue):
        return FactorCheck(CheckReport(ok=False, issues=(specs,)))
    source = shimmed(code)
    limits = limits or SandboxLimits()
    report = check_candidate(source, field_names=field_names, batches=batches, isolation=isolation, limits=limits)
    issues = [_for_factors(i) for i in report.issues if i.rule not in _REWARD_ONLY_RULES]
    report = replace(report, issues=tuple(issues), ok=not any(i.severity == "error" for i in issues))
    if not report.ok:
        return FactorCheck(report, tuple(specs))
    names = [spec.name for spec in specs]
    columns: list[np.ndarray] = []
    with SandboxedReward(source, field_names=field_names, isolation=isolation, limits=limits) as sandbox:
        for state, action, next_state in _rows_in_chunks(batches, 64):
            raw = sandbox.call(state, action, next_state, reset="all")
            if raw.error is not None or raw.terms is None:  # passed once already; a second failure is the sandbox's
                return FactorCheck(report, tuple(specs))
            columns.append(np.stack([np.asarray(raw.terms[name], np.float64) for name in names], axis=1))
    found, constant, duplicates = judge_factor_values(np.concatenate(columns), names)
    issues = [i for i in report.issues if i.rule != "constant-factor"] + found
    issues += [CheckIssue(rule="constant-factor", severity="warning", term=name, message=(
        f"factor '{name}' has the same value on all sampled states: a constant factor carries no information"))
        for name in constant if len(constant) < len(names)]
    report = replace(report, issues=tuple(issues), ok=not any(i.severity == "error" for i in issues))
    return FactorCheck(report, tuple(specs), constant, duplicates)
