"""Adapters turn one env family's raw obs (+ simulator probes) into a card's named fields, in batch.

A family's module is imported only when a card of that family is used (see base.get_adapter).
"""

from reward_coder.envs.adapters.base import (
    Adapter,
    EnvLayout,
    FieldRecipe,
    UnsupportedEnvError,
    adapter_for,
    get_adapter,
    known_families,
)

__all__ = [
    "Adapter",
    "EnvLayout",
    "FieldRecipe",
    "UnsupportedEnvError",
    "adapter_for",
    "get_adapter",
    "known_families",
]
