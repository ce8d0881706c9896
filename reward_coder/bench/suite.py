"""Benchmark suites: a YAML file naming tasks, the algorithm, the budget, the seeds and the rewards under test.

```yaml
name: metaworld-small
description: three Meta-World tasks sized for 2 CPU cores
algorithm: PPO
total_timesteps: 60000        # per training run
n_envs: 4
seeds: [0, 1]
eval_episodes: 5              # episodes of each evaluation (learning-curve point and final)
eval_every: 20000             # steps between learning-curve points (default: total_timesteps / 4)
hyperparameters: {}           # optional: replaces every card's train.hyperparameters
normalize: true               # optional: VecNormalize obs and reward for every method (default: each card's own)
tasks: [metaworld-reach/reach, metaworld-drawer-close/drawer-close]
rewards:                      # rewards under test; the expert and sparse baselines are always run
  standin:                    # a reward file per task, ours or a foreign compute_dense_reward(self, action, obs)
    metaworld-reach/reach: rewards/metaworld-reach.handwritten-standin.py
  my-run:
    runs: [runs/<run-id>]     # a run's best.py, for the task the run was about (its task.json)
```

Relative paths are looked up next to the suite file first, then in the current folder. Loading reads
every reward file and converts foreign ones, so a Suite holds the code it will train with; it
serializes to JSON (suite.json in the bench folder) and back, which is how an interrupted bench
resumes without the original files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reward_coder.errors import ConfigError

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
"""Suites shipped with the package (reward_coder/suites/*.yaml), addressed by bare name."""

EXPERT = "expert"
SPARSE = "sparse"
BASELINES = (EXPERT, SPARSE)
"""Methods every suite runs: the env's own reward (expert) and a success-only reward (sparse)."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_KEYS = {
    "name": True, "tasks": True, "algorithm": True, "total_timesteps": True, "seeds": True,
    "description": False, "n_envs": False, "eval_episodes": False, "eval_every": False,
    "hyperparameters": False, "max_episode_steps": False, "rewards": False, "normalize": False,
}


@dataclass(frozen=True)
class RewardEntry:
    """One reward under test for one task: where it came from and the contract code it trains with."""

    task: str
    source: str
    """The file (or run folder) it was read from, as written in the suite."""
    code: str
    """Contract code (`compute_reward(state, action, next_state)`); foreign code already converted."""
    format: str
    """'contract' or 'foreign' (a converted `compute_dense_reward(self, action, obs)`)."""
    line_map: tuple[int | None, ...] = ()
    """A converted file's own line for each line of `code` (see ForeignConversion.line_map); empty: the same."""

    def user_line(self, line: int | None) -> int | None:
        """The reward file's own line for line `line` of `code`, for refusals a user can find."""
        if line is None or not self.line_map:
            return line
        return self.line_map[line - 1] if 0 < line <= len(self.line_map) else None


@dataclass(frozen=True)
class RewardUnderTest:
    name: str
    entries: tuple[RewardEntry, ...]

    def for_task(self, task: str) -> RewardEntry | None:
        for entry in self.entries:
            if entry.task == task:
                return entry
        return None


@dataclass(frozen=True)
class Suite:
    """A parsed, resolved suite: everything a bench needs, independent of the files it came from."""

    name: str
    tasks: tuple[str, ...]
    """Task addresses '<card>/<task>'."""
    algorithm: str
    total_timesteps: int
    seeds: tuple[int, ...]
    n_envs: int = 4
    eval_episodes: int = 5
    eval_every: int = 0
    """Steps between evaluations; 0 means total_timesteps / 4."""
    hyperparameters: dict[str, Any] | None = None
    """None: each card's own train.hyperparameters."""
    max_episode_steps: int | None = None
    rewards: tuple[RewardUnderTest, ...] = ()
    normalize: bool | None = None
    """VecNormalize observations and the reward being trained, for every method alike; None: each card's own."""
    hyperparameter_overrides: dict[str, Any] | None = None
    """`bench --hyperparams`: applied over each task's hyperparameters (reward_coder.hyperparams.train_settings);
    None: none given."""
    description: str = ""
    source: str = ""
    """The file the suite was read from."""

    @property
    def methods(self) -> tuple[str, ...]:
        return BASELINES + tuple(r.name for r in self.rewards)

    @property
    def eval_interval(self) -> int:
        return self.eval_every or max(1, self.total_timesteps // 4)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suite:
        rewards = tuple(
            RewardUnderTest(r["name"], tuple(RewardEntry(**{**e, "line_map": tuple(e.get("line_map", ()))}) for e in r["entries"])) for r in data.get("rewards", ())
        )
        return cls(**{**data, "tasks": tuple(data["tasks"]), "seeds": tuple(data["seeds"]), "rewards": rewards})

    def fingerprint(self) -> str:
        """Hash of everything that changes what is trained (not the name, description or source path)."""
        payload = {k: v for k, v in self.to_dict().items() if k not in ("name", "description", "source")}
        if payload.get("normalize") is None:  # absent in suites written before the key existed
            payload.pop("normalize", None)
        if not payload.get("hyperparameter_overrides"):  # likewise
            payload.pop("hyperparameter_overrides", None)
        for reward in payload["rewards"]:
            for entry in reward["entries"]:
                entry.pop("source", None)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def packaged_suites() -> list[str]:
    """Bare names of the suites shipped in reward_coder/suites/."""
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def find_suite(name: str) -> Path:
    """The suite file for `name`: an existing path, or the bare name of a packaged suite."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    packaged = SUITES_DIR / f"{name}.yaml"
    if "/" not in name and packaged.is_file():
        return packaged
    known = ", ".join(packaged_suites()) or "none"
    raise ConfigError(f"no suite file '{name}'; give a path to a suite YAML file or one of the packaged suites: {known}")


def load_suite(name: str | Path) -> Suite:
    """Read, validate and resolve a suite (a path or a packaged name); raises a one-line ConfigError."""
    from reward_coder.textfile import SUITE_MAX_BYTES
    from reward_coder.yamlfile import read_yaml

    path = find_suite(str(name))
    where = f"suite {path}"
    raw = read_yaml(path, "suite", ConfigError, limit_bytes=SUITE_MAX_BYTES)
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping with keys {', '.join(k for k, r in _KEYS.items() if r)}")
    return parse_suite(raw, path)


def parse_suite(raw: dict[str, Any], path: Path) -> Suite:
    """Validate parsed YAML of a suite read from `path` (relative reward paths resolve from its folder)."""
    from reward_coder.envs import resolve_task

    where = f"suite {path}"

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{where}: key '{key}' {problem}")

    for key, required in _KEYS.items():
        if required and key not in raw:
            raise fail(key, "is missing; add it")
    unknown = [k for k in raw if k not in _KEYS]
    if unknown:
        raise fail(unknown[0], f"is not a suite key; allowed: {', '.join(_KEYS)}")

    def positive(key: str, default: int | None = None) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise fail(key, f"must be a whole number >= 1, got {value!r}")
        return value

    name = raw["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", f"must be lowercase letters, digits, '-', '_' or '.', got {name!r}")
    tasks = raw["tasks"]
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise fail("tasks", "must be a non-empty list of task addresses such as 'metaworld-reach/reach'")
    if len(set(tasks)) != len(tasks):
        raise fail("tasks", "lists a task twice")
    for task in tasks:
        try:
            resolve_task(task)
        except ConfigError as err:
            raise fail("tasks", f"names '{task}', which is not a known task: {err}") from None
    seeds = raw["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                           for s in seeds):
        raise fail("seeds", f"must be a non-empty list of whole numbers >= 0, e.g. [0, 1, 2], got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise fail("seeds", "repeats a seed")
    algorithm = raw["algorithm"]
    from reward_coder.hyperparams import ALGORITHMS

    if not isinstance(algorithm, str) or algorithm.upper() not in ALGORITHMS:
        raise fail("algorithm", f"must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    check_suite_algorithm(algorithm, tasks, lambda problem: fail("algorithm", problem))
    hyperparameters = raw.get("hyperparameters")
    if hyperparameters is not None and not isinstance(hyperparameters, dict):
        raise fail("hyperparameters", "must be a mapping of SB3 keyword arguments")
    max_steps = raw.get("max_episode_steps")
    normalize = raw.get("normalize")
    if normalize is not None and not isinstance(normalize, bool):
        raise fail("normalize", f"must be true or false, got {normalize!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be text")
    total = positive("total_timesteps")
    eval_every = positive("eval_every", max(1, total // 4))
    rewards = _rewards(raw.get("rewards") or {}, tasks, path, fail)
    return Suite(
        name=name,
        description=" ".join(description.split()),
        tasks=tuple(tasks),
        algorithm=algorithm.upper(),
        total_timesteps=total,
        seeds=tuple(seeds),
        n_envs=positive("n_envs", 4),
        eval_episodes=positive("eval_episodes", 5),
        eval_every=eval_every,
        hyperparameters=None if hyperparameters is None else dict(hyperparameters),
        max_episode_steps=None if max_steps is None else positive("max_episode_steps"),
        rewards=rewards,
        normalize=normalize,
        source=str(path),
    )


def check_suite_algorithm(algorithm: str, tasks: Any, fail: Callable[[str], ConfigError]) -> None:
    """Raise `fail(problem)` when `algorithm` cannot act on one of the tasks' cards (SAC on discrete actions, ...)."""
    from reward_coder.envs import resolve_task
    from reward_coder.hyperparams import action_space_problem

    for task in tasks:
        card, _spec = resolve_task(task)
        problem = action_space_problem(algorithm, card.action.discrete)
        if problem is not None:
            raise fail(f"{problem} (task '{task}')")


def _resolve_path(text: str, suite_path: Path) -> Path:
    path = Path(text).expanduser()
    if path.is_absolute():
        return path
    beside = suite_path.parent / path
    return beside if beside.exists() else Path.cwd() / path


def _rewards(
    value: Any, tasks: list[str], suite_path: Path, fail: Callable[[str, str], ConfigError]
) -> tuple[RewardUnderTest, ...]:
    from reward_coder.envs import resolve_task
    from reward_coder.foreign import ForeignRewardError, read_reward_file

    if not isinstance(value, dict):
        raise fail("rewards", "must map a name to {task: reward file} or to {runs: [run folders]}")
    result = []
    for name, spec in value.items():
        key = f"rewards.{name}"
        if not isinstance(name, str) or not _NAME.match(name) or name in BASELINES:
            raise fail(key, f"is not a usable name (lowercase, not {' or '.join(BASELINES)})")
        if not isinstance(spec, dict) or not spec:
            raise fail(key, "must map task addresses to reward files, or be {runs: [run folders]}")
        sources: list[tuple[str, Path, str]] = []  # (task, file, as written)
        if "runs" in spec:
            runs = spec["runs"]
            if set(spec) != {"runs"} or not isinstance(runs, list) or not runs:
                raise fail(key, "with 'runs' must be exactly {runs: [run folder, ...]}")
            for run in runs:
                folder = _resolve_path(str(run), suite_path)
                try:
                    task = json.loads((folder / "task.json").read_text())["key"]
                except (OSError, ValueError, KeyError):
                    raise fail(key, f"names run folder '{run}', which has no readable task.json") from None
                if not (folder / "best.py").is_file():
                    raise fail(key, f"names run folder '{run}', which has no best.py (no candidate trained yet)")
                sources.append((task, folder / "best.py", str(run)))
        else:
            for task, file in spec.items():
                if not isinstance(file, str):
                    raise fail(f"{key}.{task}", "must be the path of a reward file")
                sources.append((task, _resolve_path(file, suite_path), file))
        entries = []
        for task, file, written in sources:
            if task not in tasks:
                raise fail(key, f"has a reward for '{task}', which is not in the suite's tasks")
            if any(e.task == task for e in entries):
                raise fail(key, f"has two rewards for '{task}'")
            if not file.is_file():
                raise fail(f"{key}.{task}", f"names '{written}', which is not a file")
            card, _task = resolve_task(task)
            try:
                source = read_reward_file(file, card)
            except ForeignRewardError as err:
                raise fail(f"{key}.{task}", f"cannot be used: {err}") from None
            line_map = tuple(source.conversion.line_map) if source.conversion is not None else ()
            entries.append(RewardEntry(task=task, source=written, code=source.code, format=source.format,
                                       line_map=line_map))
        result.append(RewardUnderTest(name=name, entries=tuple(entries)))
    return tuple(result)

