"""The adapter of cards that declare their fields themselves (family `declared`): no Python per env.

Each field's `source` is an expression (reward_coder/envs/expressions.py) over the observation, the
step's info dict, simulator attributes and the fields declared above it. Simulator and info values are
read inside each env by FieldProbe right after reset() / step(), so they describe the same instant as
the obs; the expressions are evaluated in the trainer, on the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from reward_coder.envs.adapters.base import Adapter, EnvLayout, UnsupportedEnvError
from reward_coder.envs.expressions import OBS_KEY, Source, SourceError, evaluate, parse_source

if TYPE_CHECKING:
    import gymnasium

    from reward_coder.types import EnvCard, FieldSpec


class DeclaredFieldError(SourceError):
    """A field source of a card that is not valid; `index` is the field's position in the card."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


def parse_sources(fields: Sequence[FieldSpec]) -> dict[str, Source]:
    """Every field's parsed source, in card order; a field may use the fields declared above it."""
    sources: dict[str, Source] = {}
    for index, spec in enumerate(fields):
        try:
            sources[spec.name] = parse_source(spec.source, tuple(sources))
        except SourceError as err:
            raise DeclaredFieldError(index, str(err)) from None
    return sources


class DeclaredAdapter(Adapter):
    """Fields computed from the card's own `source` expressions (see the module docstring)."""

    family = "declared"
    declares_fields = True
    """The card's fields define what this adapter produces (cards.py checks the sources, not a table)."""

    def __init__(self, env_id: str, field_names: Sequence[str], make_kwargs: Mapping[str, Any] | None = None,
                 *, card: EnvCard | None = None) -> None:
        if card is None:
            raise UnsupportedEnvError("adapter 'declared' is built from a card: use adapter_for(card)")
        self.env_id = env_id
        self.make_kwargs = dict(make_kwargs or {})
        self.card_id = card.id
        sources = parse_sources(card.fields)
        unknown = [name for name in field_names if name not in sources]
        if unknown:
            raise UnsupportedEnvError(f"card '{card.id}' declares no field(s) {unknown}")
        self.field_names = tuple(field_names)
        self._shapes = {spec.name: spec.shape for spec in card.fields}
        # the fields asked for and every field they are computed from, in card order
        needed: set[str] = set()
        for name in reversed(list(sources)):
            if name in field_names or name in needed:
                needed.add(name)
                needed.update(sources[name].fields)
        self._plan = tuple((name, sources[name]) for name in sources if name in needed)
        self._sim = {path.key: path for _, s in self._plan for path in s.sim}
        self._info = {item.key: item for _, s in self._plan for item in s.info}
        self._probe_keys = tuple(sorted([*self._sim, *self._info]))
        self.obs_dim = -1  # not fixed: sources index the obs, and an index past its end fails naming the field

    @classmethod
    def from_card(cls, card: EnvCard, fields: Sequence[str] | None = None) -> Adapter:
        return cls(card.env_id, card.field_names() if fields is None else tuple(fields), card.make_kwargs, card=card)

    @classmethod
    def layout(cls, env_id: str, make_kwargs: Mapping[str, Any]) -> EnvLayout:
        raise UnsupportedEnvError("adapter 'declared' has no fixed layout: its fields are the card's own")

    @classmethod
    def check_card_fields(cls, fields: Sequence[FieldSpec]) -> None:
        """Raise DeclaredFieldError for the first field whose source is outside the expression language."""
        parse_sources(fields)

    def probe(self, env: gymnasium.Env) -> dict[str, Any]:
        if not self._sim:
            return {}
        sim = env.unwrapped
        values: dict[str, Any] = {}
        for key, path in self._sim.items():
            try:
                values[key] = path.read(sim)
            except (AttributeError, KeyError, TypeError, ValueError) as err:
                raise ValueError(f"card '{self.card_id}': {key.removeprefix('sim:')} cannot be read from the "
                                 f"simulator of {self.env_id} ({type(err).__name__}: {err}); fix the field's source") from None
        return values

    def probe_info(self, info: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, item in self._info.items():
            if item.name in info:
                value = np.array(info[item.name], dtype=np.float64)
                values[key] = float(value) if value.ndim == 0 else value
            elif item.default is not None:
                values[key] = item.default
        return values

    def fields(self, obs: np.ndarray, probes: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        batch = np.array(obs, dtype=np.float64)
        if batch.ndim == 0:
            raise ValueError(f"{self.env_id}: expected a batch of observations, got a scalar")
        n = batch.shape[0]
        values: dict[str, Any] = {OBS_KEY: batch}
        if self._probe_keys:
            if len(probes) != n:
                raise ValueError(f"{self.env_id}: got {len(probes)} probe dicts for {n} observations")
            for key in self._probe_keys:
                try:
                    values[key] = np.array([p[key] for p in probes], dtype=np.float64)
                except KeyError:
                    raise ValueError(self._missing(key)) from None
        out: dict[str, np.ndarray] = {}
        for name, source in self._plan:
            try:
                value = np.asarray(evaluate(source, values), dtype=np.float64)
            except (IndexError, ValueError, TypeError) as err:
                raise ValueError(f"card '{self.card_id}': field '{name}' (source {source.text!r}) cannot be "
                                 f"computed on this env's values: {err}") from None
            shape = (n, *self._shapes[name])
            if value.ndim == 0:
                value = np.full(shape, float(value))  # a constant: the same for every env
            elif value.shape != shape:
                raise ValueError(f"card '{self.card_id}': field '{name}' (source {source.text!r}) has shape "
                                 f"{list(value.shape[1:])} per env, but the card declares {list(shape[1:])}")
            values[name] = value
            if name in self.field_names:
                out[name] = value.copy()  # fields never share memory with the obs or with each other
        return {name: out[name] for name in self.field_names}

    def _missing(self, key: str) -> str:
        item = self._info.get(key)
        if item is not None:
            return (f"card '{self.card_id}': the env's info dict lacks '{item.name}' (reset infos often do); "
                    f"write info.get(\"{item.name}\", 0.0) to give it a default")
        return (f"{self.env_id}: a probe dict lacks '{key}'; build envs with make_env() (which wraps them in "
                "FieldProbe) and pass info['rc_probe'] of the same step")
