"""Screening before training (CARD's trajectory preference evaluation): does a new candidate's reward rank
the stored episodes of earlier iterations, whose task outcomes are known, the way the task metric does?

Evaluation of every trained candidate keeps its episodes' trajectories of named fields (state, action,
next_state per step, float32, capped) with each episode's task outcome (`EpisodeRecorder`, `pack_episodes`;
the loop stores them as iterations/<k>/trajectories/<id>.npz). Before iteration N trains, each new
candidate's code is run in the sandbox on those episodes (`episode_returns`), and `judge_returns` compares
the returns with the success labels by the pairwise preference accuracy (the AUC: the chance that a
successful episode gets a higher return than a failed one, ties counting half):

- 'undecided' with fewer than MIN_LABELLED successful or failed episodes: nothing is known, it trains;
- 'rejected' when the AUC is below the threshold (it prefers failure), or when every successful and every
  failed episode gets the same return (no signal at all, e.g. a constant reward);
- 'failed' when the code fails on the stored states (handled like a failed check, never a crash);
- 'passed' otherwise.

A rejected or failed candidate is reported to the designer and, unless `--no-screen`, not trained.
`measure_screening` measures what this costs and which mistakes it makes on candidates of known quality.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

TRAJECTORY_EPISODES = 10
"""Evaluation episodes per candidate whose trajectories are kept (the rest are summarized only)."""
MAX_STEPS_PER_EPISODE = 500
"""Transitions kept per episode; longer episodes keep every k-th one and returns are rescaled by length."""
MAX_FIELD_SIZE = 256
"""Fields with more components than this (pixels) are not stored; a candidate reading one is 'undecided'."""
MIN_LABELLED = 3
"""Successful and failed episodes each needed before a verdict: fewer, and a candidate is 'undecided'."""
DEFAULT_THRESHOLD = 0.5
"""A candidate whose preference accuracy (AUC) is below this ranks failed episodes above successful ones."""
MAX_POOL_EPISODES = 60
"""Most stored episodes a candidate is scored on: the newest, up to half of them of each outcome."""
CHUNK = 512
"""Transitions per sandbox call of a reward without memory."""

Verdict = Literal["passed", "rejected", "undecided", "failed"]


# ------------------------------------------------------------------------------------------------
# Stored episodes
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredEpisode:
    """One evaluation episode: named-field states before and after each kept step, and its task outcome."""

    state: dict[str, np.ndarray]
    action: np.ndarray
    next_state: dict[str, np.ndarray]
    success: bool
    native_return: float
    length: int
    """Steps the episode really had; more than len(action) when every k-th step was kept."""
    source: str = ""
    """Where it came from ('iteration 0, i0-c1'), for the report."""

    @property
    def kept(self) -> int:
        return int(np.asarray(self.action).shape[0])


class EpisodeRecorder:
    """Collects the transitions of one episode at a time (evaluation calls `step`, then `finish`)."""

    def __init__(self, max_episodes: int = TRAJECTORY_EPISODES, max_steps: int = MAX_STEPS_PER_EPISODE) -> None:
        self.max_episodes, self.max_steps = max_episodes, max_steps
        self.episodes: list[StoredEpisode] = []
        self._steps: list[tuple[dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]] = []

    @property
    def recording(self) -> bool:
        return len(self.episodes) < self.max_episodes

    def step(self, state: Mapping[str, np.ndarray], action: Any, next_state: Mapping[str, np.ndarray]) -> None:
        """One step; fields are batches of one (as NamedFields gives them)."""
        if not self.recording:
            return
        keep = lambda fields: {k: np.asarray(v)[0] for k, v in fields.items()  # noqa: E731
                               if np.asarray(v)[0].size <= MAX_FIELD_SIZE}
        self._steps.append((keep(state), np.asarray(action), keep(next_state)))

    def finish(self, success: bool, native_return: float) -> None:
        if not self.recording:
            self._steps = []
            return
        steps, self._steps = self._steps, []
        if not steps:
            return
        length = len(steps)
        stride = max(1, math.ceil(length / self.max_steps))
        steps = steps[::stride]
        stack = lambda part: {k: np.stack([s[part][k] for s in steps]).astype(np.float32)  # noqa: E731
                              for k in steps[0][part]}
        action = np.stack([s[1] for s in steps])
        action = action if np.issubdtype(action.dtype, np.integer) else action.astype(np.float32)
        self.episodes.append(StoredEpisode(state=stack(0), action=action, next_state=stack(2),
                                           success=bool(success), native_return=float(native_return), length=length))


def pack_episodes(episodes: Sequence[StoredEpisode]) -> bytes:
    """Episodes as one compressed .npz. An episode kept whole stores its states once (next_state[t] is
    state[t + 1]); a thinned one stores both."""
    arrays: dict[str, np.ndarray] = {
        "success": np.array([e.success for e in episodes], dtype=bool),
        "native_return": np.array([e.native_return for e in episodes], dtype=np.float64),
        "length": np.array([e.length for e in episodes], dtype=np.int64),
    }
    for i, episode in enumerate(episodes):
        arrays[f"e{i}.action"] = np.asarray(episode.action)
        whole = episode.kept == episode.length and all(
            np.array_equal(episode.state[k][1:], episode.next_state[k][:-1]) for k in episode.state)
        for name in episode.state:
            if whole:
                arrays[f"e{i}.states.{name}"] = np.concatenate([episode.state[name], episode.next_state[name][-1:]])
            else:
                arrays[f"e{i}.state.{name}"] = episode.state[name]
                arrays[f"e{i}.next.{name}"] = episode.next_state[name]
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def unpack_episodes(data: bytes, source: str = "") -> list[StoredEpisode]:
    """The episodes of `pack_episodes` (never unpickles: allow_pickle is off)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    episodes = []
    for i in range(len(arrays["success"])):
        state: dict[str, np.ndarray] = {}
        next_state: dict[str, np.ndarray] = {}
        for key, value in arrays.items():
            prefix, _, rest = key.partition(".")
            if prefix != f"e{i}" or rest == "action":
                continue
            kind, _, name = rest.partition(".")
            if kind == "states":
                state[name], next_state[name] = value[:-1], value[1:]
            elif kind == "state":
                state[name] = value
            elif kind == "next":
                next_state[name] = value
        episodes.append(StoredEpisode(state=state, action=arrays[f"e{i}.action"], next_state=next_state,
                                      success=bool(arrays["success"][i]),
                                      native_return=float(arrays["native_return"][i]),
                                      length=int(arrays["length"][i]), source=source))
    return episodes


def encode_episodes(episodes: Sequence[StoredEpisode]) -> str:
    """pack_episodes as text, so trajectories travel back inside an outcome (process pool, Ray) as JSON does."""
    return base64.b64encode(pack_episodes(episodes)).decode("ascii")


def decode_episodes(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def episode_pool(episodes: Sequence[StoredEpisode], limit: int = MAX_POOL_EPISODES) -> list[StoredEpisode]:
    """The newest `limit` episodes (`episodes` oldest first), at most half of each outcome where both
    are plentiful, so a run of successes cannot crowd out the failures a verdict needs."""
    newest = list(reversed(episodes))
    wins = [e for e in newest if e.success]
    losses = [e for e in newest if not e.success]
    take_wins = min(len(wins), max(limit // 2, limit - len(losses)))
    take_losses = min(len(losses), limit - take_wins)
    return wins[:take_wins] + losses[:take_losses]


# ------------------------------------------------------------------------------------------------
# Scoring and judging
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenResult:
    """A candidate's screening: its verdict, why, and what it cost."""

    candidate_id: str
    verdict: Verdict
    reason: str
    auc: float | None = None
    """Pairwise preference accuracy of its returns against the success labels (ties count half)."""
    successes: int = 0
    failures: int = 0
    episodes_scored: int = 0
    transitions_scored: int = 0
    sandbox_s: float = 0.0
    """Wall time of the sandbox worker: start-up and every call."""
    returns: tuple[float, ...] = ()
    labels: tuple[bool, ...] = ()

    @property
    def screened_out(self) -> bool:
        return self.verdict in ("rejected", "failed")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line for the designer and the final table."""
        return self.reason


def screen_result_from_dict(data: Mapping[str, Any]) -> ScreenResult:
    names = set(ScreenResult.__dataclass_fields__)
    values = {k: v for k, v in data.items() if k in names}
    values["returns"] = tuple(values.get("returns", ()))
    values["labels"] = tuple(values.get("labels", ()))
    return ScreenResult(**values)


def preference_accuracy(returns: np.ndarray, success: np.ndarray) -> tuple[float, bool]:
    """(AUC, all tied): the fraction of (successful, failed) pairs whose successful episode has the higher
    return, ties counting half; all tied when no pair differs by more than rounding."""
    returns = np.asarray(returns, dtype=np.float64)
    success = np.asarray(success, dtype=bool)
    wins, losses = returns[success], returns[~success]
    scale = 1e-9 * (1.0 + float(np.max(np.abs(returns)))) if returns.size else 0.0
    difference = wins[:, None] - losses[None, :]
    higher = (difference > scale).sum()
    tied = (np.abs(difference) <= scale).sum()
    pairs = difference.size
    return float((higher + 0.5 * tied) / pairs), bool(tied == pairs)


def judge_returns(candidate_id: str, returns: np.ndarray, success: np.ndarray, *,
                  threshold: float = DEFAULT_THRESHOLD, min_labelled: int = MIN_LABELLED) -> ScreenResult:
    """The verdict on a candidate's episode returns against the episodes' success labels."""
    success = np.asarray(success, dtype=bool)
    n_wins, n_losses = int(success.sum()), int((~success).sum())
    common = dict(candidate_id=candidate_id, successes=n_wins, failures=n_losses, episodes_scored=int(success.size),
                  returns=tuple(float(r) for r in returns), labels=tuple(bool(s) for s in success))
    if n_wins < min_labelled or n_losses < min_labelled:
        return ScreenResult(verdict="undecided", reason=(
            f"undecided: only {n_wins} successful and {n_losses} failed earlier episodes (at least {min_labelled} "
            "of each are needed to judge), so it is trained"), **common)
    auc, all_tied = preference_accuracy(returns, success)
    wins, losses = np.asarray(returns)[success], np.asarray(returns)[~success]
    numbers = (f"over {n_wins} successful and {n_losses} failed episodes of earlier iterations, mean return "
               f"{wins.mean():.4g} on successful and {losses.mean():.4g} on failed ones")
    if all_tied:
        return ScreenResult(verdict="rejected", auc=auc, reason=(
            f"gives every successful and every failed earlier episode the same return ({numbers}): "
            "it cannot tell success from failure"), **common)
    if auc < threshold:
        return ScreenResult(verdict="rejected", auc=auc, reason=(
            f"ranks failed episodes above successful ones: a successful episode gets the higher return in only "
            f"{auc:.0%} of pairs (threshold {threshold:.0%}; {numbers})"), **common)
    return ScreenResult(verdict="passed", auc=auc, reason=(
        f"passed: a successful episode gets the higher return in {auc:.0%} of pairs ({numbers})"), **common)


def episode_returns(code: str, episodes: Sequence[StoredEpisode], field_names: Sequence[str], *,
                    isolation: Any = None, limits: Any = None) -> tuple[np.ndarray | None, str, int]:
    """Each episode's return under `code`, run in a sandboxed worker: (returns, error, transitions scored).

    returns is None and error says why when the code fails to load or on any call (an exception, a
    timeout, NaN, a wrong shape: judged like the sandboxed check judges it). A thinned episode's return is
    its kept steps' sum times length / kept. A reward with memory is called one step at a time, memory
    emptied at each episode start.
    """
    from reward_coder.sandbox import SandboxedReward, SandboxLimits, judge_call, static_check
    from reward_coder.sandbox.check import takes_memory

    problems = [i for i in static_check(code, field_names) if i.severity == "error"]
    if problems:
        return None, "refused by the static check: " + "; ".join(i.describe() for i in problems), 0
    stored = set.intersection(*(set(e.state) for e in episodes)) if episodes else set()
    from reward_coder.reward.fields import fields_used

    missing = [name for name in fields_used(code, field_names) if name not in stored]
    if missing:
        return None, f"reads field(s) {', '.join(missing)} that the stored episodes do not keep", 0
    memory = takes_memory(code)
    scored = 0
    with SandboxedReward(code, field_names=sorted(stored), isolation=isolation,
                         limits=limits or SandboxLimits()) as sandbox:
        if sandbox.start_error is not None:
            return None, f"the worker could not load it: {sandbox.start_error.message}", 0
        returns = []
        for episode in episodes:
            total = 0.0
            step = 1 if memory else CHUNK
            for start in range(0, episode.kept, step):
                rows = slice(start, start + step)
                raw = sandbox.call({k: v[rows] for k, v in episode.state.items()}, episode.action[rows],
                                   {k: v[rows] for k, v in episode.next_state.items()},
                                   reset="all" if start == 0 else None)
                errors = [i for i in judge_call(raw, raw.n) if i.severity == "error"]
                if errors:
                    return None, "; ".join(i.message for i in errors), scored
                total += float(np.sum(np.asarray(raw.reward, dtype=np.float64)))
                scored += raw.n
            returns.append(total * episode.length / max(episode.kept, 1))
    return np.asarray(returns, dtype=np.float64), "", scored


def screen_candidate(candidate_id: str, code: str, episodes: Sequence[StoredEpisode], field_names: Sequence[str],
                     *, threshold: float = DEFAULT_THRESHOLD, min_labelled: int = MIN_LABELLED,
                     isolation: Any = None, limits: Any = None) -> ScreenResult:
    """Score `code` on the labelled episodes in the sandbox and judge it. Never raises for the code's faults."""
    labels = np.array([e.success for e in episodes], dtype=bool)
    n_wins, n_losses = int(labels.sum()), int((~labels).sum())
    if n_wins < min_labelled or n_losses < min_labelled:  # nothing to learn: no sandbox time spent
        return judge_returns(candidate_id, np.zeros(labels.size), labels, threshold=threshold,
                             min_labelled=min_labelled)
    started = time.perf_counter()
    returns, error, scored = episode_returns(code, episodes, field_names, isolation=isolation, limits=limits)
    spent = time.perf_counter() - started
    if returns is None:
        if "do not keep" in error:
            return ScreenResult(candidate_id, "undecided", f"undecided: it {error}, so it is trained",
                                successes=n_wins, failures=n_losses, sandbox_s=spent)
        return ScreenResult(candidate_id, "failed", f"failed on the states of earlier episodes: {error}",
                            successes=n_wins, failures=n_losses, episodes_scored=len(episodes),
                            transitions_scored=scored, sandbox_s=spent)
    result = judge_returns(candidate_id, returns, labels, threshold=threshold, min_labelled=min_labelled)
    return ScreenResult(**{**asdict(result), "sandbox_s": spent, "transitions_scored": scored,
                           "returns": result.returns, "labels": result.labels})


# ------------------------------------------------------------------------------------------------
# Measuring screening (for `bench perf`)
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownCandidate:
    """A candidate whose quality is known: from its full training result, or by construction (stand-ins)."""

    candidate_id: str
    code: str
    quality: Literal["good", "bad", "unknown"]
    train_steps: int = 0
    """Env steps its training costs (or cost): what screening it out saves."""
    note: str = ""


@dataclass(frozen=True)
class ScreeningMeasurement:
    """What screening did to candidates of known quality, and what it cost."""

    bad_total: int
    bad_removed: int
    good_total: int
    good_lost: int
    undecided: int
    episodes: int
    successes: int
    failures: int
    sandbox_s: float
    transitions_scored: int
    env_steps_saved: int
    threshold: float
    results: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def bad_removed_fraction(self) -> float:
        return self.bad_removed / self.bad_total if self.bad_total else float("nan")

    @property
    def meets_target(self) -> bool:
        """The issue's target: at least a third of the clearly bad candidates removed, and no good one."""
        return self.good_lost == 0 and self.bad_total > 0 and self.bad_removed * 3 >= self.bad_total

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bad_removed_fraction": self.bad_removed_fraction, "meets_target": self.meets_target}


def measure_screening(candidates: Sequence[KnownCandidate], episodes: Sequence[StoredEpisode],
                      field_names: Sequence[str], *, threshold: float = DEFAULT_THRESHOLD,
                      min_labelled: int = MIN_LABELLED, isolation: Any = None) -> ScreeningMeasurement:
    """Screen every candidate on `episodes` and count: clearly bad ones removed, good ones lost (screened
    out although good), undecided ones, sandbox seconds and transitions scored, env steps saved (the
    training steps of every candidate screened out)."""
    results = [screen_candidate(c.candidate_id, c.code, episodes, field_names, threshold=threshold,
                                min_labelled=min_labelled, isolation=isolation) for c in candidates]
    pairs = list(zip(candidates, results))
    labels = [e.success for e in episodes]
    return ScreeningMeasurement(
        bad_total=sum(c.quality == "bad" for c in candidates),
        bad_removed=sum(c.quality == "bad" and r.screened_out for c, r in pairs),
        good_total=sum(c.quality == "good" for c in candidates),
        good_lost=sum(c.quality == "good" and r.screened_out for c, r in pairs),
        undecided=sum(r.verdict == "undecided" for r in results),
        episodes=len(episodes), successes=sum(labels), failures=len(labels) - sum(labels),
        sandbox_s=float(sum(r.sandbox_s for r in results)),
        transitions_scored=int(sum(r.transitions_scored for r in results)),
        env_steps_saved=int(sum(c.train_steps for c, r in pairs if r.screened_out)),
        threshold=threshold,
        results=tuple({"candidate": c.candidate_id, "quality": c.quality, "note": c.note, "verdict": r.verdict,
                       "auc": r.auc, "reason": r.reason, "sandbox_s": r.sandbox_s} for c, r in pairs),
    )


# ------------------------------------------------------------------------------------------------
# Stand-ins of known quality (pendulum swing-up), for tests and `bench perf`
# ------------------------------------------------------------------------------------------------

def _reward_code(body: str) -> str:
    return ("import numpy as np\n\n\ndef compute_reward(state, action, next_state):\n"
            + "".join(f"    {line}\n" for line in body.strip().splitlines()))


PENDULUM_STANDINS: tuple[KnownCandidate, ...] = (
    KnownCandidate("good-upright", _reward_code("""
up = next_state.cos_theta
still = -0.1 * np.abs(next_state.angular_velocity) * (up > 0.8)
return up + still, {'up': up, 'still': still}"""), "good", 40_000, "uprightness, damped near the top"),
    KnownCandidate("good-native-like", _reward_code("""
angle = -next_state.theta ** 2
spin = -0.1 * next_state.angular_velocity ** 2
effort = -0.001 * np.sum(action ** 2, axis=-1)
return angle + spin + effort, {'angle': angle, 'spin': spin, 'effort': effort}"""), "good", 40_000,
                   "the env's own cost, rewritten"),
    KnownCandidate("good-sparse-bonus", _reward_code("""
bonus = np.where(next_state.cos_theta > 0.95, 1.0, 0.0)
shaping = 0.1 * next_state.cos_theta
return bonus + shaping, {'bonus': bonus, 'shaping': shaping}"""), "good", 40_000, "a bonus upright plus light shaping"),
    KnownCandidate("bad-negated", _reward_code("""
down = -next_state.cos_theta
return down, {'down': down}"""), "bad", 40_000, "the sign flipped: highest hanging down"),
    KnownCandidate("bad-constant", _reward_code("""
alive = np.ones_like(next_state.cos_theta)
return alive, {'alive': alive}"""), "bad", 40_000, "a constant: no signal"),
    KnownCandidate("bad-spin-hack", _reward_code("""
speed = next_state.angular_velocity ** 2
return speed, {'speed': speed}"""), "bad", 40_000, "rewards speed: spinning beats balancing"),
    KnownCandidate("bad-lazy", _reward_code("""
effort = -np.sum(action ** 2, axis=-1)
return effort, {'effort': effort}"""), "bad", 40_000, "only penalizes torque: doing nothing is best"),
    KnownCandidate("bad-crash", _reward_code("""
raise RuntimeError('boom')"""), "bad", 40_000, "raises on every call"),
)
"""Hand-written pendulum swing-up rewards of known quality: three sound ones, five clearly bad ones."""


def pendulum_policies() -> dict[str, Any]:
    """Scripted pendulum policies (obs = cos, sin, angular velocity -> torque) of known outcome: an energy
    swing-up with a balancing controller (succeeds), and random, idle, spinning and swing-only ones (fail)."""
    rng = np.random.default_rng(0)

    def swing_up(obs: np.ndarray, balance: bool = True) -> np.ndarray:
        cos, sin, speed = (float(v) for v in np.asarray(obs).reshape(-1)[:3])
        theta = math.atan2(sin, cos)
        if balance and cos > 0.85:
            return np.array([np.clip(-(10.0 * theta + 2.0 * speed), -2.0, 2.0)], dtype=np.float32)
        energy = 0.5 * speed ** 2 + 15.0 * cos  # 15 = 3 g / (2 l): upright at rest has energy 15
        return np.array([2.0 if speed * (15.0 - energy) >= 0 else -2.0], dtype=np.float32)

    return {
        "swing-up": swing_up,
        "swing-only": lambda obs: swing_up(obs, balance=False),
        "random": lambda obs: rng.uniform(-2.0, 2.0, size=1).astype(np.float32),
        "idle": lambda obs: np.zeros(1, dtype=np.float32),
        "spin": lambda obs: np.array([2.0], dtype=np.float32),
    }


def labelled_episodes(card: Any, success: Any, policies: Mapping[str, Any], *, episodes_each: int = 4,
                      seed: int = 0) -> list[StoredEpisode]:
    """Episodes of each policy with their outcomes on the task's success metric, stored as evaluation stores them."""
    from reward_coder.evaluate import evaluate_policy

    found: list[StoredEpisode] = []
    for index, (name, policy) in enumerate(policies.items()):
        result = evaluate_policy(policy, card, success, episodes=episodes_each, seed=seed + 100 * index,
                                 trajectory_episodes=episodes_each)
        found += [StoredEpisode(**{**e.__dict__, "source": name}) for e in result.trajectories]
    return found
