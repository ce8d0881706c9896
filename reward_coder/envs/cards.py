"""Load and validate env card files (YAML) into EnvCard values.

Every problem is a CardError of one line that names the file, the key (as a path such as
`tasks[1].success.params.field`) and what is expected there, so a user can fix the card without reading
this code. Validation includes the card's adapter: every declared field must be one the adapter of the
card's family can produce for that env, with the declared shape; for family 'declared' every field's
source must be an expression of the field language (reward_coder/envs/expressions.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


from reward_coder.envs.adapters.base import UnsupportedEnvError, get_adapter
from reward_coder.textfile import CARD_MAX_BYTES
from reward_coder.yamlfile import read_yaml
from reward_coder.errors import CardError
from reward_coder.types import (
    PROGRESS_REDUCTIONS,
    ActionChoice,
    ActionSpec,
    DirectionPair,
    DirectionSide,
    DistanceSpec,
    EnvCard,
    FieldSpec,
    ProgressSpec,
    SuccessSpec,
    TaskSpec,
    TrainDefaults,
)

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

_CARD_KEYS = {
    "id": True,
    "env_id": True,
    "family": True,
    "description": True,
    "fields": True,
    "action": True,
    "train": True,
    "success": True,
    "native_reward": True,
    "tasks": False,
    "make_kwargs": False,
    "uses_memory": False,
    "distances": False,
    "progress": False,
    "direction": False,
}
"""Top-level keys of a card; True = required."""

FIELD_OPS = ("mean_above", "mean_below", "final_above", "final_below")
"""Conditions of the 'survive_and_field' success kind (params.op)."""

SUCCESS_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "native_return_above": (("threshold",), ()),
    "field_mean_above": (("field", "threshold"), ("index", "abs", "from_fraction")),
    "field_mean_below": (("field", "threshold"), ("index", "abs", "from_fraction")),
    "field_final_above": (("field", "threshold"), ("index", "abs", "from_fraction")),
    "field_final_below": (("field", "threshold"), ("index", "abs", "from_fraction")),
    "info_flag": (("key",), ()),
    "survive_and_field": (("min_steps", "field", "op", "threshold"), ("index", "abs", "from_fraction")),
}
"""Success kind -> (required params, optional params), as reward_coder/success.py evaluates them:
`abs: true` applies |x| to the field first (e.g. "mean |forward_velocity| below 0.1"); `from_fraction`
(in [0, 1)) judges only the last part of the episode (0.5 = second half)."""


class _Reader:
    """Typed access to one card's parsed YAML; every failure is a CardError naming file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> CardError:
        where = f" key '{key}'" if key else ""
        return CardError(f"env card {self.path}:{where} {problem}")

    def mapping(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a mapping of keys to values, got {_shown(value)}")
        for k in value:
            if not isinstance(k, str):
                raise self.fail(key, f"has a non-text key {k!r}; keys must be names")
        return value

    def keys(self, value: Mapping[str, Any], key: str, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
        prefix = f"{key}." if key else ""
        for name in required:
            if name not in value:
                raise self.fail(f"{prefix}{name}", "is missing; add it")
        unknown = [k for k in value if k not in required and k not in optional]
        if unknown:
            allowed = ", ".join(required + optional)
            raise self.fail(f"{prefix}{unknown[0]}", f"is not a known key here; allowed: {allowed}")

    def text(self, value: Any, key: str, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be non-empty text, got {_shown(value)}")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, f"must match {hint or pattern.pattern}, got {value!r}")
        return value.strip()

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, got {_shown(value)}")
        return float(value)

    def integer(self, value: Any, key: str, *, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, got {_shown(value)}")
        if value < minimum:
            raise self.fail(key, f"must be >= {minimum}, got {value}")
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_shown(value)}")
        return value

    def shape(self, value: Any, key: str) -> tuple[int, ...]:
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
            raise self.fail(key, f"must be a list of positive whole numbers ([] for a scalar, [3] for a vector), got {_shown(value)}")
        return tuple(value)

    def items(self, value: Any, key: str, *, allow_empty: bool = False) -> list[Any]:
        if not isinstance(value, list) or (not value and not allow_empty):
            raise self.fail(key, f"must be a {'' if allow_empty else 'non-empty '}list, got {_shown(value)}")
        return value


def _shown(value: Any) -> str:
    """A short description of a wrong value: its YAML type and, if short, the value itself."""
    kinds = {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number"}
    kind = "nothing (null)" if value is None else kinds.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} {text}" if value is not None and len(text) <= 40 else kind


def load_card(path: str | Path) -> EnvCard:
    """Read, validate and return the env card at `path`. Raises CardError naming the file and key."""
    path = Path(path)
    reader = _Reader(path)
    raw = read_yaml(path, "env card", CardError, limit_bytes=CARD_MAX_BYTES)
    if raw is None:
        raise CardError(f"env card {path}: is empty; see the cards in the packaged envs/ folder for the format")
    return _parse_card(raw, reader)


def _parse_card(raw: Any, reader: _Reader) -> EnvCard:
    """Build an EnvCard from parsed YAML; `reader` carries the file name for error messages."""
    card = reader.mapping(raw, "")
    required = tuple(k for k, needed in _CARD_KEYS.items() if needed)
    optional = tuple(k for k, needed in _CARD_KEYS.items() if not needed)
    reader.keys(card, "", required, optional)

    card_id = reader.text(card["id"], "id", pattern=_ID, hint="lowercase letters, digits, '-' or '_'")
    env_id = reader.text(card["env_id"], "env_id")
    family = reader.text(card["family"], "family")
    description = reader.text(card["description"], "description")
    native_reward = reader.text(card["native_reward"], "native_reward")
    make_kwargs = dict(reader.mapping(card.get("make_kwargs", {}) or {}, "make_kwargs"))
    uses_memory = reader.boolean(card.get("uses_memory", False), "uses_memory")

    fields = _fields(card["fields"], reader)
    _check_adapter(family, env_id, make_kwargs, fields, reader)
    shapes = {f.name: f.shape for f in fields}

    action = _action(card["action"], reader)
    train = _train(card["train"], reader)
    _check_algorithm(action, train, reader)
    success = _success(card["success"], "success", shapes, reader)
    tasks = _tasks(card.get("tasks", []) or [], shapes, reader)
    distances = _distances(card.get("distances", []) or [], fields, reader)
    progress = _progress(card["progress"], distances, reader) if card.get("progress") is not None else None
    direction = _direction(card.get("direction", []) or [], tasks, family, action, reader)
    return EnvCard(
        id=card_id,
        env_id=env_id,
        family=family,
        description=description,
        fields=fields,
        action=action,
        train=train,
        success=success,
        tasks=tasks,
        make_kwargs=make_kwargs,
        native_reward=native_reward,
        uses_memory=uses_memory,
        distances=distances,
        progress=progress,
        direction=direction,
    )


def _fields(value: Any, reader: _Reader) -> tuple[FieldSpec, ...]:
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(reader.items(value, "fields")):
        key = f"fields[{i}]"
        entry = reader.mapping(item, key)
        reader.keys(entry, key, ("name", "shape", "meaning", "unit", "source"), ("angle",))
        name = reader.text(entry["name"], f"{key}.name", pattern=_FIELD_NAME, hint="a Python identifier in lowercase")
        if name in seen:
            raise reader.fail(f"{key}.name", f"repeats the field '{name}'; field names must be unique")
        seen.add(name)
        unit = entry["unit"]
        if not isinstance(unit, str):
            raise reader.fail(f"{key}.unit", f"must be text ('' for a unitless value), got {_shown(unit)}")
        angle = reader.boolean(entry.get("angle", False), f"{key}.angle")
        if angle and unit.strip() != "rad":
            raise reader.fail(f"{key}.angle", f"is true, so the unit must be 'rad', got {unit!r}")
        specs.append(
            FieldSpec(
                name=name,
                shape=reader.shape(entry["shape"], f"{key}.shape"),
                meaning=reader.text(entry["meaning"], f"{key}.meaning"),
                unit=unit.strip(),
                source=reader.text(entry["source"], f"{key}.source"),
                angle=angle,
            )
        )
    return tuple(specs)


def _distances(value: Any, fields: tuple[FieldSpec, ...], reader: _Reader) -> tuple[DistanceSpec, ...]:
    """Task distances between two fields of the same shape (a scalar or a vector), named apart from fields."""
    by_name = {f.name: f for f in fields}
    specs: list[DistanceSpec] = []
    for i, item in enumerate(reader.items(value, "distances", allow_empty=True)):
        key = f"distances[{i}]"
        entry = reader.mapping(item, key)
        reader.keys(entry, key, ("name", "between", "meaning"), ("axes", "offset"))
        name = reader.text(entry["name"], f"{key}.name", pattern=_FIELD_NAME, hint="a Python identifier in lowercase")
        if name in by_name:
            raise reader.fail(f"{key}.name", f"is '{name}', which is a field of this card; name the distance apart from the fields")
        if any(spec.name == name for spec in specs):
            raise reader.fail(f"{key}.name", f"repeats the distance '{name}'; distance names must be unique")
        between = entry["between"]
        if not isinstance(between, list) or len(between) != 2 or not all(isinstance(b, str) for b in between):
            raise reader.fail(f"{key}.between", f"must list two field names, e.g. [tcp_pos, obj_pos], got {_shown(between)}")
        ends = []
        for end in between:
            if end not in by_name:
                raise reader.fail(f"{key}.between", f"names '{end}', which is not a field of this card; use one of {', '.join(by_name)}")
            ends.append(by_name[end])
        a, b = ends
        if a.shape != b.shape:
            raise reader.fail(
                f"{key}.between",
                f"joins '{a.name}' (shape {list(a.shape)}) and '{b.name}' (shape {list(b.shape)}); both need the same shape",
            )
        if len(a.shape) > 1:
            raise reader.fail(f"{key}.between", f"joins fields of shape {list(a.shape)}; use scalar or vector fields")
        if a.angle or b.angle:
            raise reader.fail(f"{key}.between", f"joins the angle field '{(a if a.angle else b).name}'; distances are between positions")
        size = a.shape[0] if a.shape else 1
        axes = _axes(entry.get("axes"), f"{key}.axes", size, reader)
        offset = _offset(entry.get("offset"), f"{key}.offset", size, reader)
        specs.append(DistanceSpec(
            name=name, a=a.name, b=b.name, meaning=reader.text(entry["meaning"], f"{key}.meaning"),
            axes=axes, offset=offset,
        ))
    return tuple(specs)


def _axes(value: Any, key: str, size: int, reader: _Reader) -> tuple[int, ...]:
    if value is None:
        return ()
    valid = isinstance(value, list) and bool(value) and all(
        not isinstance(v, bool) and isinstance(v, int) and 0 <= v < size for v in value
    )
    if not valid or len(set(value)) != len(value):
        raise reader.fail(key, f"must list distinct component indices in [0, {size}) (e.g. [1] for y only), got {_shown(value)}")
    return tuple(value)


def _offset(value: Any, key: str, size: int, reader: _Reader) -> tuple[float, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) != size:
        raise reader.fail(key, f"must list {size} numbers (one per component of the fields), got {_shown(value)}")
    return tuple(reader.number(v, f"{key}[{j}]") for j, v in enumerate(value))


def _progress(value: Any, distances: tuple[DistanceSpec, ...], reader: _Reader) -> ProgressSpec:
    """The graded progress measure: one of the card's distances, reduced over an episode (lower is better)."""
    spec = reader.mapping(value, "progress")
    reader.keys(spec, "progress", ("distance",), ("reduce", "description"))
    distance = reader.text(spec["distance"], "progress.distance")
    names = [d.name for d in distances]
    if distance not in names:
        known = ", ".join(names) or "none declared"
        raise reader.fail("progress.distance", f"names '{distance}', which is not one of the card's distances ({known}); declare it under distances")
    reduce = spec.get("reduce", "final")
    if reduce not in PROGRESS_REDUCTIONS:
        raise reader.fail("progress.reduce", f"is {_shown(reduce)}; use one of {', '.join(PROGRESS_REDUCTIONS)}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise reader.fail("progress.description", f"must be text, got {_shown(description)}")
    return ProgressSpec(distance=distance, reduce=reduce, description=" ".join(description.split()))


DIRECTION_POLICIES = ("random", "zero", "scripted", "expert", "toward-goal", "away-from-goal")
"""Policy names a direction side may use (reward_coder.envs.sampling.REFERENCE_POLICIES; 'expert' is
Meta-World's scripted policy of the card's task, 'toward-goal' / 'away-from-goal' drive a Fetch gripper)."""

_FAMILY_POLICIES = {"expert": "metaworld", "toward-goal": "fetch", "away-from-goal": "fetch"}
"""Direction policies that read one family's observation layout."""


def _direction(value: Any, tasks: tuple[TaskSpec, ...], family: str, action: ActionSpec,
               reader: _Reader) -> tuple[DirectionPair, ...]:
    """Good-vs-bad pairs of the direction check; each names the tasks it judges (default: all of them)."""
    task_names = tuple(t.name for t in tasks)
    pairs: list[DirectionPair] = []
    for i, item in enumerate(reader.items(value, "direction", allow_empty=True)):
        key = f"direction[{i}]"
        entry = reader.mapping(item, key)
        reader.keys(entry, key, ("name", "good", "bad"), ("tasks",))
        name = reader.text(entry["name"], f"{key}.name", pattern=_ID, hint="lowercase letters, digits, '-' or '_'")
        if any(pair.name == name for pair in pairs):
            raise reader.fail(f"{key}.name", f"repeats the direction pair '{name}'; pair names must be unique")
        judged = entry.get("tasks", list(task_names))
        if not isinstance(judged, list) or not judged or not all(isinstance(t, str) for t in judged):
            raise reader.fail(f"{key}.tasks", f"must list task names of this card, got {_shown(judged)}")
        for task in judged:
            if task not in task_names:
                known = ", ".join(task_names) or "none declared"
                raise reader.fail(f"{key}.tasks", f"names '{task}', which is not a task of this card ({known})")
        pairs.append(DirectionPair(
            name=name, good=_direction_side(entry["good"], f"{key}.good", family, action, reader),
            bad=_direction_side(entry["bad"], f"{key}.bad", family, action, reader), tasks=tuple(judged),
        ))
    return tuple(pairs)


def _direction_side(value: Any, key: str, family: str, action: ActionSpec, reader: _Reader) -> DirectionSide:
    side = reader.mapping(value, key)
    reader.keys(side, key, ("description", "policy"), ("steps", "warmup", "episodes", "start"))
    policy = reader.text(side["policy"], f"{key}.policy")
    if policy not in DIRECTION_POLICIES:
        raise reader.fail(f"{key}.policy", f"is '{policy}'; use one of {', '.join(DIRECTION_POLICIES)}")
    if policy in _FAMILY_POLICIES and family != _FAMILY_POLICIES[policy]:
        raise reader.fail(f"{key}.policy", f"is '{policy}', which only cards of family '{_FAMILY_POLICIES[policy]}' "
                                           f"can use; this card's family is '{family}'")
    if policy == "zero" and action.discrete and action.neutral_index() is None:
        raise reader.fail(f"{key}.policy", "is 'zero', but this card's discrete actions name no neutral one; "
                                           "set action.neutral or use 'random' or 'scripted'")
    start = dict(reader.mapping(side.get("start", {}) or {}, f"{key}.start"))
    # a declared card may drive a classic-control env (its state vector) or a MuJoCo one (joints by name)
    allowed = ("state",) if family == "classic" else ("state", "qpos", "qvel") if family == "declared" else ("qpos", "qvel")
    reader.keys(start, f"{key}.start", (), allowed)
    if "state" in start:
        start["state"] = [_start_value(v, f"{key}.start.state[{j}]", reader)
                          for j, v in enumerate(reader.items(start["state"], f"{key}.start.state"))]
    for part in ("qpos", "qvel"):
        if part in start:
            joints = reader.mapping(start[part], f"{key}.start.{part}")
            start[part] = {joint: _start_value(v, f"{key}.start.{part}.{joint}", reader) for joint, v in joints.items()}
    steps = reader.integer(side.get("steps", 16), f"{key}.steps", minimum=1)
    warmup = reader.integer(side.get("warmup", 0), f"{key}.warmup")
    return DirectionSide(
        description=reader.text(side["description"], f"{key}.description"), policy=policy, steps=steps,
        warmup=warmup, episodes=reader.integer(side.get("episodes", 8), f"{key}.episodes", minimum=2), start=start,
    )


def _start_value(value: Any, key: str, reader: _Reader) -> float | list[float]:
    """A number, or [low, high] for a value drawn uniformly per env."""
    if isinstance(value, list):
        if len(value) != 2:
            raise reader.fail(key, f"must be a number or [low, high], got {_shown(value)}")
        low, high = (reader.number(v, key) for v in value)
        if low > high:
            raise reader.fail(key, f"is [{low}, {high}]; low must not exceed high")
        return [low, high]
    return reader.number(value, key)


def _check_adapter(
    family: str, env_id: str, make_kwargs: dict[str, Any], fields: tuple[FieldSpec, ...], reader: _Reader
) -> None:
    """Every declared field must be one the family's adapter produces for env_id, with that shape.

    An adapter whose fields are the card's own (family 'declared') checks each field's source instead.
    """
    try:
        adapter_class = get_adapter(family)
    except CardError as err:
        raise reader.fail("family", f"is not usable: {err}") from err
    if getattr(adapter_class, "declares_fields", False):
        from reward_coder.envs.adapters.declared import DeclaredFieldError

        try:
            adapter_class.check_card_fields(fields)
        except DeclaredFieldError as err:
            raise reader.fail(f"fields[{err.index}].source", f"is not a valid source: {err}") from None
        return
    try:
        available = adapter_class.available_fields(env_id, make_kwargs)
    except CardError as err:
        raise reader.fail("family", f"is not usable: {err}") from err
    except UnsupportedEnvError as err:
        raise reader.fail("env_id", f"is not supported: {err}") from err
    for i, spec in enumerate(fields):
        if spec.name not in available:
            raise reader.fail(
                f"fields[{i}].name",
                f"declares '{spec.name}', which adapter '{family}' cannot produce for {env_id}; "
                f"it can produce: {', '.join(available)}",
            )
        if available[spec.name] != spec.shape:
            raise reader.fail(
                f"fields[{i}].shape",
                f"declares {list(spec.shape)} for '{spec.name}' but adapter '{family}' produces "
                f"{list(available[spec.name])}; use that shape",
            )


CONTINUOUS_ONLY = ("SAC", "TD3", "DDPG")
"""Algorithms that act only in a continuous (Box) action space."""


def _check_algorithm(action: ActionSpec, train: TrainDefaults, reader: _Reader) -> None:
    """A discrete card cannot default to an algorithm, or a setting, that needs continuous actions."""
    if not action.discrete:
        return
    if train.algorithm.upper() in CONTINUOUS_ONLY:
        raise reader.fail("train.algorithm", f"is {train.algorithm}, which needs continuous (Box) actions, but this "
                                             f"card's actions are discrete; use PPO, A2C or DQN")
    hyper = train.hyperparameters
    policy_kwargs = hyper.get("policy_kwargs") or {}
    for name, present in (("use_sde", bool(hyper.get("use_sde"))), ("sde_sample_freq", "sde_sample_freq" in hyper),
                          ("policy_kwargs.log_std_init", isinstance(policy_kwargs, Mapping) and "log_std_init" in policy_kwargs)):
        if present:
            raise reader.fail(f"train.hyperparameters.{name}", "is a setting of continuous actions (a Gaussian policy); "
                                                               "remove it from this discrete card")


def _action(value: Any, reader: _Reader) -> ActionSpec:
    """A Box action (shape, low, high) or a Discrete one (`discrete`: the named actions, in index order)."""
    action = reader.mapping(value, "action")
    if "discrete" in action:
        return _discrete_action(action, reader)
    reader.keys(action, "action", ("shape", "low", "high", "description"), ())
    low = reader.number(action["low"], "action.low")
    high = reader.number(action["high"], "action.high")
    if not low < high:
        raise reader.fail("action.high", f"must be greater than action.low ({low}), got {high}")
    return ActionSpec(
        shape=reader.shape(action["shape"], "action.shape"),
        low=low,
        high=high,
        description=reader.text(action["description"], "action.description"),
    )


def _discrete_action(action: Mapping[str, Any], reader: _Reader) -> ActionSpec:
    reader.keys(action, "action", ("discrete", "description"), ("neutral",))
    choices: list[ActionChoice] = []
    for i, item in enumerate(reader.items(action["discrete"], "action.discrete")):
        key = f"action.discrete[{i}]"
        entry = reader.mapping(item, key)
        reader.keys(entry, key, ("name", "meaning"), ())
        name = reader.text(entry["name"], f"{key}.name", pattern=_FIELD_NAME, hint="a Python identifier in lowercase")
        if any(choice.name == name for choice in choices):
            raise reader.fail(f"{key}.name", f"repeats the action '{name}'; action names must be unique")
        choices.append(ActionChoice(name=name, meaning=reader.text(entry["meaning"], f"{key}.meaning")))
    if len(choices) < 2:
        raise reader.fail("action.discrete", f"names {len(choices)} action; a discrete action set needs at least 2")
    neutral = action.get("neutral", "")
    if neutral != "" and neutral not in [c.name for c in choices]:
        raise reader.fail("action.neutral", f"is {_shown(neutral)}, which is not one of the actions "
                                            f"({', '.join(c.name for c in choices)})")
    return ActionSpec(shape=(), low=0.0, high=float(len(choices) - 1),
                      description=reader.text(action["description"], "action.description"),
                      choices=tuple(choices), neutral=neutral)


def _train(value: Any, reader: _Reader) -> TrainDefaults:
    train = reader.mapping(value, "train")
    keys = ("algorithm", "total_timesteps", "n_envs", "max_episode_steps", "eval_episodes", "hyperparameters",
            "normalize", "eval_deterministic")
    reader.keys(train, "train", keys[:5], keys[5:])
    normalize_obs, normalize_reward = _normalize(train.get("normalize", False), reader)
    return TrainDefaults(
        algorithm=reader.text(train["algorithm"], "train.algorithm"),
        total_timesteps=reader.integer(train["total_timesteps"], "train.total_timesteps", minimum=1),
        n_envs=reader.integer(train["n_envs"], "train.n_envs", minimum=1),
        max_episode_steps=reader.integer(train["max_episode_steps"], "train.max_episode_steps", minimum=1),
        eval_episodes=reader.integer(train["eval_episodes"], "train.eval_episodes", minimum=1),
        hyperparameters=dict(reader.mapping(train.get("hyperparameters", {}) or {}, "train.hyperparameters")),
        normalize_obs=normalize_obs,
        normalize_reward=normalize_reward,
        eval_deterministic=reader.boolean(train.get("eval_deterministic", True), "train.eval_deterministic"),
    )


def _normalize(value: Any, reader: _Reader) -> tuple[bool, bool]:
    """`normalize: true` (observations and reward), `false`, or `{obs: bool, reward: bool}`."""
    if isinstance(value, bool):
        return value, value
    spec = reader.mapping(value, "train.normalize")
    reader.keys(spec, "train.normalize", (), ("obs", "reward"))
    return (reader.boolean(spec.get("obs", False), "train.normalize.obs"),
            reader.boolean(spec.get("reward", False), "train.normalize.reward"))


def _success(value: Any, key: str, shapes: dict[str, tuple[int, ...]], reader: _Reader) -> SuccessSpec:
    spec = reader.mapping(value, key)
    reader.keys(spec, key, ("kind", "params"), ("description", "written_by"))
    kind = reader.text(spec["kind"], f"{key}.kind")
    if kind not in SUCCESS_KINDS:
        raise reader.fail(f"{key}.kind", f"is '{kind}'; use one of {', '.join(SUCCESS_KINDS)}")
    params = dict(reader.mapping(spec["params"], f"{key}.params"))
    required, optional = SUCCESS_KINDS[kind]
    reader.keys(params, f"{key}.params", required, optional)
    p = f"{key}.params"
    if "threshold" in params:
        params["threshold"] = reader.number(params["threshold"], f"{p}.threshold")
    if "key" in params:
        reader.text(params["key"], f"{p}.key")
    if "min_steps" in params:
        reader.integer(params["min_steps"], f"{p}.min_steps", minimum=1)
    if "op" in params and params["op"] not in FIELD_OPS:
        raise reader.fail(f"{p}.op", f"is {params['op']!r}; use one of {', '.join(FIELD_OPS)}")
    if "abs" in params:
        reader.boolean(params["abs"], f"{p}.abs")
    if "from_fraction" in params:
        fraction = reader.number(params["from_fraction"], f"{p}.from_fraction")
        if not 0.0 <= fraction < 1.0:
            raise reader.fail(f"{p}.from_fraction", f"must be in [0, 1) (0.5 = judge the second half), got {fraction}")
    if "field" in params:
        field = reader.text(params["field"], f"{p}.field")
        if field not in shapes:
            raise reader.fail(f"{p}.field", f"names '{field}', which is not a field of this card; use one of {', '.join(shapes)}")
        shape = shapes[field]
        if "index" in params:
            index = reader.integer(params["index"], f"{p}.index")
            if len(shape) != 1 or index >= shape[0]:
                raise reader.fail(f"{p}.index", f"is {index} but field '{field}' has shape {list(shape)}; index a vector field within its length")
        elif shape:
            raise reader.fail(f"{p}.index", f"is missing; field '{field}' has shape {list(shape)}, so say which element")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise reader.fail(f"{key}.description", f"must be text, got {_shown(description)}")
    written_by = spec.get("written_by", "person")
    if written_by not in ("person", "llm"):
        raise reader.fail(f"{key}.written_by", f"must be 'person' or 'llm', got {_shown(written_by)}")
    return SuccessSpec(kind=kind, params=params, description=description.strip(), written_by=written_by)


def _tasks(value: Any, shapes: dict[str, tuple[int, ...]], reader: _Reader) -> tuple[TaskSpec, ...]:
    tasks: list[TaskSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(reader.items(value, "tasks", allow_empty=True)):
        key = f"tasks[{i}]"
        entry = reader.mapping(item, key)
        reader.keys(entry, key, ("name", "instruction", "success"), ("total_timesteps",))
        name = reader.text(entry["name"], f"{key}.name", pattern=_ID, hint="lowercase letters, digits, '-' or '_'")
        if name in seen:
            raise reader.fail(f"{key}.name", f"repeats the task '{name}'; task names must be unique in a card")
        seen.add(name)
        total = entry.get("total_timesteps")
        tasks.append(
            TaskSpec(
                name=name,
                instruction=reader.text(entry["instruction"], f"{key}.instruction"),
                success=_success(entry["success"], f"{key}.success", shapes, reader),
                total_timesteps=None if total is None else reader.integer(total, f"{key}.total_timesteps", minimum=1),
            )
        )
    return tuple(tasks)
