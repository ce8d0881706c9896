"""Environments: env cards (data), their adapters (raw obs -> named fields, in batch), env building.

Names are imported lazily so that listing cards does not import gymnasium or a simulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reward_coder.envs.adapters.base import Adapter, adapter_for, get_adapter
    from reward_coder.envs.cards import load_card
    from reward_coder.envs.describe import describe_card
    from reward_coder.envs.factory import EnvBuildError, continue_streams, env_fns, make_env
    from reward_coder.envs.probe import PROBE_KEY, FieldProbe
    from reward_coder.envs.registry import get_card, list_cards, resolve_task
    from reward_coder.envs.sampling import TransitionBatch, fields_from_vec_step, sample_transitions

_EXPORTS = {
    "load_card": "reward_coder.envs.cards",
    "list_cards": "reward_coder.envs.registry",
    "get_card": "reward_coder.envs.registry",
    "resolve_task": "reward_coder.envs.registry",
    "make_env": "reward_coder.envs.factory",
    "env_fns": "reward_coder.envs.factory",
    "continue_streams": "reward_coder.envs.factory",
    "EnvBuildError": "reward_coder.envs.factory",
    "get_adapter": "reward_coder.envs.adapters.base",
    "adapter_for": "reward_coder.envs.adapters.base",
    "Adapter": "reward_coder.envs.adapters.base",
    "FieldProbe": "reward_coder.envs.probe",
    "PROBE_KEY": "reward_coder.envs.probe",
    "TransitionBatch": "reward_coder.envs.sampling",
    "sample_transitions": "reward_coder.envs.sampling",
    "fields_from_vec_step": "reward_coder.envs.sampling",
    "describe_card": "reward_coder.envs.describe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reward_coder.envs' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
