"""The `state` object reward code sees: named fields as attributes, read-only, batch-first."""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np

from reward_coder.sandbox._rules import state_attribute_hint, state_index_hint, state_len_hint


class FieldView:
    """Attribute access to a mapping of field name -> array (n_envs, ...).

    Unknown names raise AttributeError listing the fields that exist, so the message fed back to the
    LLM says exactly what it may use; reading it as an array (`state[:, 0]`, `len(state)`, `state.shape`)
    raises an error that says how to read fields instead, as the sandbox worker's view does.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, np.ndarray]) -> None:
        # no copy: the mapping is a fresh per-step dict and this view offers no way to change it
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name: str) -> np.ndarray:
        fields = object.__getattribute__(self, "_fields")
        try:
            return fields[name]
        except KeyError:
            if not name.startswith("_") and hasattr(np.ndarray, name):
                raise AttributeError(state_attribute_hint(list(fields), name)) from None
            available = ", ".join(sorted(fields))
            raise AttributeError(f"unknown field '{name}'; available: {available}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("state fields are read-only")

    def __getitem__(self, name: str) -> np.ndarray:
        if not isinstance(name, str):
            raise TypeError(state_index_hint(list(object.__getattribute__(self, "_fields")), name))
        return self.__getattr__(name)

    def __len__(self) -> int:
        raise TypeError(state_len_hint(list(object.__getattribute__(self, "_fields"))))

    def __bool__(self) -> bool:
        return True

    def __contains__(self, name: object) -> bool:
        return name in object.__getattribute__(self, "_fields")

    def __iter__(self) -> Iterator[str]:
        return iter(object.__getattribute__(self, "_fields"))

    def keys(self):
        return object.__getattribute__(self, "_fields").keys()

    def __repr__(self) -> str:
        fields = object.__getattribute__(self, "_fields")
        return "FieldView(" + ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in fields.items()) + ")"
