"""What an adapter is, and the registry that finds one by family name.

An adapter turns one environment family's raw observations (plus a few values read from the simulator)
into the named state fields of an env card, for a whole batch of vectorized environments at once.
It has two halves, because the two halves run in different places:

- `probe(env)` runs inside each environment process, right after `reset()` / `step()` (see
  `reward_coder.envs.probe.FieldProbe`), and reads what the obs vector lacks (x position, foot contacts)
  at the same instant as the obs.
- `fields(obs, probes)` runs in the trainer process on the stacked obs of all envs and the list of
  their probe dicts, and returns every declared field as a float64 array of shape (n, *field.shape).

Most adapters are a table: each field is a column range of the obs vector or of one probe value, with an
optional elementwise transform. `TableAdapter` implements `fields()` from such a table once, fast.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from reward_coder.errors import CardError

if TYPE_CHECKING:
    import gymnasium

    from reward_coder.types import EnvCard

OBS = "obs"
"""Source name of the observation vector in a FieldRecipe; any other source is a probe key."""

Transform = Callable[[np.ndarray], np.ndarray]


class UnsupportedEnvError(ValueError):
    """The adapter cannot serve this env id / make_kwargs; the message says what it supports."""


@dataclass(frozen=True)
class FieldRecipe:
    """How one field is derived: columns `index` of a source array, then an optional transform.

    `source` is "obs" (the stacked obs, shape (n, obs_dim)) or a probe key (the stacked probe values,
    shape (n,) for a scalar probe value or (n, k) for a vector). `index` None takes the source whole.
    `transform` maps the selected (n, ...) array to the field's (n, *shape) array.
    """

    source: str
    index: int | slice | None
    shape: tuple[int, ...]
    transform: Transform | None = None


@dataclass(frozen=True)
class EnvLayout:
    """Everything an adapter can derive for one env id: the obs width it expects and a recipe per field."""

    obs_dim: int
    recipes: Mapping[str, FieldRecipe]


class Adapter(ABC):
    """Turns raw obs and probes of one env family into named fields, in batch.

    Subclasses implement `layout()` (which fields exist for an env id) and `probe()`; `fields()` is
    shared. An instance serves one env id and produces exactly the field names it was built with.
    """

    family: ClassVar[str] = ""

    def __init__(
        self,
        env_id: str,
        field_names: Sequence[str],
        make_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.env_id = env_id
        self.make_kwargs = dict(make_kwargs or {})
        layout = self.layout(env_id, self.make_kwargs)
        missing = [name for name in field_names if name not in layout.recipes]
        if missing:
            raise UnsupportedEnvError(
                f"adapter '{self.family}' cannot produce field(s) {missing} for {env_id}; "
                f"it can produce: {', '.join(layout.recipes)}"
            )
        self.field_names: tuple[str, ...] = tuple(field_names)
        self.obs_dim = layout.obs_dim
        self._plan = tuple((name, layout.recipes[name]) for name in self.field_names)
        self._probe_keys = tuple(sorted({r.source for _, r in self._plan if r.source != OBS}))

    @property
    def needs_probe(self) -> bool:
        """False when every field comes from the obs vector: then envs need no FieldProbe at all."""
        return bool(self._probe_keys)

    @classmethod
    def from_card(cls, card: EnvCard, fields: Sequence[str] | None = None) -> Adapter:
        """The adapter instance serving `card` (its env id, make_kwargs and declared fields, or `fields`)."""
        return cls(card.env_id, card.field_names() if fields is None else tuple(fields), card.make_kwargs)

    @classmethod
    @abstractmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        """Every field this adapter can derive for `env_id`; raises UnsupportedEnvError otherwise."""

    @classmethod
    def available_fields(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """Field name -> per-env shape of everything this adapter can derive for `env_id`."""
        return {name: r.shape for name, r in cls.layout(env_id, make_kwargs).recipes.items()}

    @abstractmethod
    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        """Values the obs vector lacks, read from one env's simulator now; {} when nothing is needed.

        Values must be copies (floats or fresh arrays), never views into simulator buffers, because
        they are read later, after the simulator has moved on.
        """

    def probe_info(self, info: Mapping[str, Any]) -> dict[str, Any]:
        """Values taken from the info dict of the same reset() / step() (e.g. Meta-World's 'success').

        FieldProbe merges them into the probe. The default reads nothing; an adapter whose fields come
        from info overrides this. Values must be plain floats or fresh arrays, as in probe().
        """
        return {}

    def wrap_env(self, env: gymnasium.Env) -> gymnasium.Env:
        """The env as the adapter's layout expects it; make_env applies this to every env it builds.

        The default returns `env` unchanged. A family overrides it when its raw env needs a fix to fit
        the layout or the benchmark (e.g. flatten dict observations; route reset(seed=...) to a task
        sampler that ignores it). Returned wrappers must keep gymnasium's API and be cheap per step.
        """
        return env

    def fields(self, obs: np.ndarray, probes: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Every declared field, float64, shape (n, *field.shape), from obs (n, obs_dim) and n probe dicts.

        The result never shares memory with `obs` or the probes, so reward code can't corrupt them.
        """
        batch = np.array(obs, dtype=np.float64)
        if batch.ndim != 2 or batch.shape[1] != self.obs_dim:
            raise ValueError(
                f"{self.env_id}: expected obs of shape (n_envs, {self.obs_dim}), got {batch.shape}"
            )
        n = batch.shape[0]
        sources: dict[str, np.ndarray] = {OBS: batch}
        if self._probe_keys:
            if len(probes) != n:
                raise ValueError(f"{self.env_id}: got {len(probes)} probe dicts for {n} observations")
            try:
                for key in self._probe_keys:
                    sources[key] = np.array([p[key] for p in probes], dtype=np.float64)
            except KeyError as err:
                raise ValueError(
                    f"{self.env_id}: a probe dict lacks {err}; build envs with make_env() (which wraps them "
                    "in FieldProbe) and pass info['rc_probe'] of the same step"
                ) from err
        out: dict[str, np.ndarray] = {}
        for name, recipe in self._plan:
            source = sources[recipe.source]
            value = source if recipe.index is None else source[:, recipe.index]
            if recipe.transform is not None:
                value = recipe.transform(value)
            out[name] = value
        return out


# --------------------------------------------------------------------------------------------------
# transforms shared by adapters (each maps an (n, ...) array to an (n, ...) array)
# --------------------------------------------------------------------------------------------------


def add_constant(offset: float) -> Transform:
    """x + offset (e.g. a body's rest height that the slide joint measures from)."""

    def transform(x: np.ndarray) -> np.ndarray:
        return x + offset

    return transform


def constant(value: float) -> Transform:
    """A constant broadcast to the batch, from any (n, ...) column (e.g. a fixed goal position)."""

    def transform(x: np.ndarray) -> np.ndarray:
        return np.full(x.shape[0], value, dtype=np.float64)

    return transform


def reshape_rows(*shape: int) -> Transform:
    """(n, prod(shape)) -> (n, *shape), copying so the result owns its memory."""

    def transform(x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], *shape).copy()

    return transform


# --------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------

_FAMILIES: dict[str, str] = {
    "classic": "reward_coder.envs.adapters.classic:ClassicControlAdapter",
    "mujoco_locomotion": "reward_coder.envs.adapters.mujoco_locomotion:MujocoLocomotionAdapter",
    "metaworld": "reward_coder.envs.adapters.metaworld:MetaWorldAdapter",
    "fetch": "reward_coder.envs.adapters.fetch:FetchAdapter",
    "declared": "reward_coder.envs.adapters.declared:DeclaredAdapter",
    "crafter": "reward_coder.envs.adapters.crafter:CrafterAdapter",
    "minedojo": "reward_coder.envs.adapters.minedojo:MineDojoAdapter",
}
"""Family name -> 'module:Class', imported on first use so listing cards needs no simulator."""


def known_families() -> tuple[str, ...]:
    return tuple(_FAMILIES)


def get_adapter(family: str) -> type[Adapter]:
    """The adapter class of `family`: a built-in name, or 'package.module:Class' for your own adapter.

    Raises CardError naming the known families when the name is unknown or its import fails.
    """
    target = _FAMILIES.get(family, family if ":" in family else None)
    if target is None:
        raise CardError(
            f"unknown adapter family '{family}'; use one of {', '.join(_FAMILIES)} "
            "or 'package.module:AdapterClass' for your own adapter"
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise CardError(f"adapter family '{family}': cannot import {module_name} ({err})") from err
    adapter_class = getattr(module, class_name, None)
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, Adapter)):
        raise CardError(f"adapter family '{family}': {target} is not an Adapter subclass")
    return adapter_class


def adapter_for(card: EnvCard, fields: Sequence[str] | None = None) -> Adapter:
    """The ready-to-use adapter of `card` (its family's class, built for its env id and fields).

    `fields` restricts it to the fields a reward actually reads: the probe then skips simulator work
    no field needs (e.g. the contact pass for locomotion), which is most of its cost per step.
    """
    try:
        adapter_class = get_adapter(card.family)
        if fields is None:
            return adapter_class.from_card(card)
        unknown = [name for name in fields if name not in card.field_names()]
        if unknown:
            raise CardError(f"card '{card.id}' has no field(s) {unknown}")
        return adapter_class.from_card(card, tuple(fields))
    except UnsupportedEnvError as err:
        raise CardError(f"card '{card.id}': {err}") from err
