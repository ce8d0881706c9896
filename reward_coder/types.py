"""Frozen value types shared by every module.

Everything between the edges (llm/, train/, store.py, cli/) takes and returns these. They hold
plain data only, so they serialize to JSON for the run store and cross process boundaries cleanly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

# --------------------------------------------------------------------------------------------------
# LLM requests and answers
# --------------------------------------------------------------------------------------------------

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: Role
    content: str


def loose_key(purpose: str, task_key: str, iteration: int, label: str = "") -> str:
    """The one spelling of a loose replay key, shared by requests and recorded replay entries."""
    key = f"{purpose}|{task_key}|{iteration}"
    return f"{key}|{label}" if label else key


@dataclass(frozen=True)
class CompletionRequest:
    """What the loop asks an LLM for: `n` samples of a chat.

    `purpose`, `task_key` and `iteration` do not change what the model sees; they label the request so
    that a replay file can answer it by (purpose, task, iteration, sample index) when the exact prompt
    changed (the loose replay mode), and so the journal is readable.
    """

    messages: tuple[Message, ...]
    n: int = 1
    temperature: float = 1.0
    max_tokens: int | None = None
    purpose: str = "designer"
    task_key: str = ""
    iteration: int = 0
    label: str = ""
    """Extra label for the loose key, e.g. which candidate a repair request is about ('c2')."""

    def request_hash(self) -> str:
        """Stable hash of what the model sees (messages, n, temperature), independent of the labels."""
        payload = {
            "messages": [[m.role, m.content] for m in self.messages],
            "n": self.n,
            "temperature": round(float(self.temperature), 6),
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=True).encode()
        return hashlib.sha256(blob).hexdigest()[:24]

    def loose_key(self) -> str:
        """Key of the loose replay mode: purpose, task, iteration and label (sample index added per sample)."""
        return loose_key(self.purpose, self.task_key, self.iteration, self.label)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompletionRequest:
        messages = tuple(Message(**m) for m in data["messages"])
        return cls(**{**data, "messages": messages})


@dataclass(frozen=True)
class Completion:
    """The answer to a CompletionRequest: `samples` holds the text of each of the n choices."""

    samples: tuple[str, ...]
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cached: bool = False
    tokens_estimated: bool = False
    """True when the token counts were counted from the text with the model's tokenizer because the
    provider reported none or too few (llama.cpp's server counts only the first of n answers)."""
    retries: tuple[dict[str, Any], ...] = ()
    """The retries it took, one record each (call, attempt, of, reason, wait_s), in the order they happened;
    journaled with the exchange. An answer from the cache took none."""
    cost_unknown: bool = False
    """True when the model has no known price (run with --allow-unpriced): cost_usd is then 0 but not free."""
    replay_match: str = ""
    """How a replayed answer was found: 'exact' (the same prompt was recorded) or 'loose' (an answer recorded
    for the same purpose, task, iteration and label, but another prompt); '' for a live answer."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Completion:
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        return cls(**{**data, "samples": tuple(data["samples"]), "retries": tuple(data.get("retries") or ())})


# --------------------------------------------------------------------------------------------------
# Env cards
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One named state field the reward code can read, as `state.<name>` with shape (n_envs, *shape)."""

    name: str
    shape: tuple[int, ...]
    meaning: str
    unit: str
    source: str
    """How the adapter derives it: e.g. 'obs[0]', 'sim: data.qpos[1]', 'atan2(obs[1], obs[0])'. Documentation for
    the families with fields in Python; for family 'declared' the expression itself (reward_coder/envs/expressions.py)."""
    angle: bool = False
    """True for an angle in radians whose value matters modulo 2 pi (a wrapped angle such as pendulum's
    theta, or an orientation about a hinge): its episode statistics are circular, so a pole hanging at
    +pi and -pi alternately averages to pi, not 0."""


@dataclass(frozen=True)
class DistanceSpec:
    """A task distance the card declares between two fields (e.g. hand to object, object to goal).

    The analyzer reports it per episode and a ProgressSpec may grade candidates by it. It is the
    Euclidean norm of (a + offset - b) over `axes`, so it can be written to equal what the env's own
    success test thresholds (Meta-World's button-press measures only y, faucet-open offsets the handle).
    """

    name: str
    a: str
    """Field name of the first end."""
    b: str
    """Field name of the second end; same shape as `a`."""
    meaning: str
    axes: tuple[int, ...] = ()
    """Components of the (vector) fields that count; () for all of them."""
    offset: tuple[float, ...] = ()
    """Added to field `a` before measuring (one number per component); () for none."""


PROGRESS_REDUCTIONS = ("final", "min", "mean")
"""How a ProgressSpec turns a distance's per-step series into one number per episode."""


@dataclass(frozen=True)
class ProgressSpec:
    """The graded progress measure of a card: one of its distances, reduced over an episode; lower is better.

    It breaks ties between candidates when the success metric is binary (DESIGN.md, selection).
    """

    distance: str
    """Name of one of the card's distances."""
    reduce: str = "final"
    """'final' (value after the last step), 'min' (closest approach: the graded form of a success test
    that counts if it holds at any step) or 'mean' (over the steps of the episode)."""
    description: str = ""
    """What the measure is and what success needs of it, for reports and the analyzer."""


@dataclass(frozen=True)
class DirectionSide:
    """States of known quality for the direction check: short real rollouts of a named policy.

    Each of `episodes` envs is reset, optionally put into the physical state `start` describes, driven by
    `policy` for `warmup` unrecorded steps and then for `steps` recorded ones; an env whose episode ends
    stops there (its last transition is scored on the terminal obs). See envs/README.md.
    """

    description: str
    """What these states are, in plain words ('the pole held upright'); shown in the check's message."""
    policy: str
    """A policy name of reward_coder.envs.sampling.POLICIES ('random', 'zero', 'scripted', 'expert', ...)."""
    steps: int = 16
    warmup: int = 0
    episodes: int = 8
    start: dict[str, Any] = field(default_factory=dict)
    """Simulator overrides after reset: {'state': [...]} for classic-control envs, {'qpos': {joint: v},
    'qvel': {joint: v}} for MuJoCo ones; a value [low, high] is drawn uniformly per env."""


@dataclass(frozen=True)
class DirectionPair:
    """A good and a bad set of states that any reward for the pair's tasks must tell apart the right way."""

    name: str
    good: DirectionSide
    bad: DirectionSide
    tasks: tuple[str, ...] = ()
    """Names of the card's tasks whose goal this pair encodes."""


@dataclass(frozen=True)
class ActionChoice:
    """One action of a discrete action set: its index is its position in ActionSpec.choices."""

    name: str
    meaning: str


@dataclass(frozen=True)
class ActionSpec:
    """The action the reward receives: a float vector in [low, high] (Box), or an action index (Discrete).

    A discrete card names each action (`choices`); the reward then gets an integer batch of indices of
    shape (n_envs,), and `shape` is (), `low` 0 and `high` the last index.
    """

    shape: tuple[int, ...]
    low: float
    high: float
    description: str
    choices: tuple[ActionChoice, ...] = ()
    """The named actions of a Discrete action space, in index order; () for a continuous (Box) action."""
    neutral: str = ""
    """Name of the discrete action that does nothing ('no_torque'), used by the 'zero' policy; '' if none."""

    @property
    def discrete(self) -> bool:
        return bool(self.choices)

    def neutral_index(self) -> int | None:
        """Index of the neutral discrete action, None when the card names none."""
        names = [choice.name for choice in self.choices]
        return names.index(self.neutral) if self.neutral in names else None


@dataclass(frozen=True)
class SuccessSpec:
    """A success metric written by a person, evaluated on evaluation episodes (never on the candidate's reward).

    Kinds and their params are listed in reward_coder.success.KINDS: the native return above a
    threshold, the mean or final value of a named field above/below a threshold, an info flag
    (Meta-World's success), or surviving min_steps with a field condition.
    """

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    written_by: str = "person"
    """'person' for benchmark tasks; 'llm' when proposed by a model for a free-text task."""


@dataclass(frozen=True)
class TrainDefaults:
    algorithm: str = "PPO"
    total_timesteps: int = 100_000
    n_envs: int = 4
    max_episode_steps: int = 1000
    eval_episodes: int = 10
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    normalize_obs: bool = False
    """VecNormalize the observations (card `train.normalize: {obs: true}`; `normalize: true` sets both)."""
    normalize_reward: bool = False
    """VecNormalize the reward being trained, whichever it is (candidate, the env's own, sparse)."""
    eval_deterministic: bool = True
    """Evaluate the policy's most likely action (card `train.eval_deterministic`). Crafter's cards set false:
    its scoreboard samples actions, and a greedy PPO policy there mostly repeats one action in place."""


@dataclass(frozen=True)
class TaskSpec:
    """A named task on a card: instruction + success metric (+ optional budget overrides)."""

    name: str
    instruction: str
    success: SuccessSpec
    total_timesteps: int | None = None


@dataclass(frozen=True)
class EnvCard:
    id: str
    """Card id, e.g. 'halfcheetah'; tasks are addressed as '<card id>/<task name>'."""
    env_id: str
    """gymnasium id passed to gymnasium.make."""
    family: str
    """Adapter name in reward_coder/envs/adapters (e.g. 'classic', 'mujoco_locomotion')."""
    description: str
    fields: tuple[FieldSpec, ...]
    action: ActionSpec
    train: TrainDefaults
    success: SuccessSpec
    tasks: tuple[TaskSpec, ...] = ()
    make_kwargs: dict[str, Any] = field(default_factory=dict)
    native_reward: str = ""
    """Plain description of the environment's own reward, for reports (never shown to the designer)."""
    uses_memory: bool = False
    distances: tuple[DistanceSpec, ...] = ()
    """Task distances the analyzer reports per episode (never shown to the designer as fields)."""
    progress: ProgressSpec | None = None
    """Graded progress measure for selection tie-breaks (lower is better); None when the card declares none."""
    direction: tuple[DirectionPair, ...] = ()
    """Good-vs-bad state sets per task, scored by the direction check before training (envs/README.md)."""

    def direction_for(self, task_name: str) -> tuple[DirectionPair, ...]:
        """The direction pairs that judge rewards for the task `task_name`."""
        return tuple(pair for pair in self.direction if task_name in pair.tasks)

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def task(self, name: str) -> TaskSpec:
        for task in self.tasks:
            if task.name == name:
                return task
        known = ", ".join(t.name for t in self.tasks) or "none"
        raise KeyError(f"card '{self.id}' has no task '{name}' (known: {known})")


# --------------------------------------------------------------------------------------------------
# Candidates and checks
# --------------------------------------------------------------------------------------------------

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class CheckIssue:
    """One finding about a candidate, phrased so it can be fed back to the LLM verbatim."""

    rule: str
    message: str
    severity: Severity = "error"
    line: int | None = None
    term: str | None = None

    def describe(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        term = f"[term '{self.term}'] " if self.term else ""
        return f"{where}{term}{self.message} ({self.rule})"


@dataclass(frozen=True)
class TermStats:
    """Statistics of one reward term (or the total) over sampled transitions."""

    mean: float
    std: float
    min: float
    max: float
    abs_mean: float


@dataclass(frozen=True)
class CheckReport:
    """Outcome of checking one candidate: static checks, a sandboxed run on real states, the verdict."""

    ok: bool
    issues: tuple[CheckIssue, ...] = ()
    term_stats: dict[str, TermStats] = field(default_factory=dict)
    reward_stats: TermStats | None = None
    call_ms: float | None = None
    isolation: str = ""
    n_states: int = 0

    @property
    def errors(self) -> tuple[CheckIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[CheckIssue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        return cls(
            ok=data["ok"],
            issues=tuple(CheckIssue(**i) for i in data.get("issues", ())),
            term_stats={k: TermStats(**v) for k, v in data.get("term_stats", {}).items()},
            reward_stats=TermStats(**data["reward_stats"]) if data.get("reward_stats") else None,
            call_ms=data.get("call_ms"),
            isolation=data.get("isolation", ""),
            n_states=data.get("n_states", 0),
        )


@dataclass(frozen=True)
class ExtractionError:
    """Why no reward function could be taken from a response; `kind` picks the feedback."""

    kind: Literal["no_code", "no_function", "syntax_error"]
    message: str
    line: int | None = None
    """Line of the response text (prose included) the error is at, when it has one."""


@dataclass(frozen=True)
class ExtractedCode:
    code: str
    function_name: str = "compute_reward"
    notes: tuple[str, ...] = ()
    """What extraction repaired or dropped (e.g. 'added missing import numpy as np', 'dropped example
    usage at line 31 (calls compute_reward): `reward, terms = compute_reward(...)`'), lines of the response."""
    line_map: tuple[int | None, ...] = ()
    """For each line of `code` (line_map[i] for line i + 1), its line in the response text, or None for a
    line extraction added; () when unknown. Turns line numbers of checks on `code` into lines of the answer."""

    def answer_line(self, line: int | None) -> int | None:
        """The response line of `code`'s line `line` (None when unknown or added by extraction)."""
        if line is None or not self.line_map:
            return line
        return self.line_map[line - 1] if 0 < line <= len(self.line_map) else None


def to_jsonable(value: Any) -> Any:
    """asdict() for dataclasses, recursively, with tuples as lists; leaves plain data alone."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value
