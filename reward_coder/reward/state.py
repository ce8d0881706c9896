"""The `state` object reward code sees: named fields as attributes, read-only, batch-first."""

from __future__ import annotations

from typing import Iterator, Mapping

import numpy as np


class FieldView:
    """Attribute access to a mapping of field name -> array (n_envs, ...).

    Unknown names raise AttributeError listing the fields that exist, so the message fed back to the
    LLM says exactly what it may use.
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
            available = ", ".join(sorted(fields))
            raise AttributeError(f"unknown field '{name}'; available: {available}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("state fields are read-only")

    def __getitem__(self, name: str) -> np.ndarray:
        return self.__getattr__(name)

    def __contains__(self, name: object) -> bool:
        return name in object.__getattribute__(self, "_fields")

    def __iter__(self) -> Iterator[str]:
        return iter(object.__getattribute__(self, "_fields"))

    def keys(self):
        return object.__getattribute__(self, "_fields").keys()

    def __repr__(self) -> str:
        fields = object.__getattribute__(self, "_fields")
        return "FieldView(" + ", ".join(f"{k}{tuple(np.shape(v))}" for k, v in fields.items()) + ")"
