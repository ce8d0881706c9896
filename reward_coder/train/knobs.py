"""Check an algorithm and its hyperparameters against SB3 itself, before anything trains.

`--algo` must suit the env's action space (SAC, TD3 and DDPG act in a continuous Box; DQN picks one of a
Discrete set); every hyperparameter must be an argument of the algorithm's constructor, and every
`policy_kwargs` entry one of its MlpPolicy's. A misspelt name is one line with the close matches.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from reward_coder.errors import ConfigError
from reward_coder.hyperparams import ALGORITHMS

ACTION_SPACES: dict[str, tuple[str, ...]] = {
    "PPO": ("Box", "Discrete", "MultiDiscrete", "MultiBinary"),
    "A2C": ("Box", "Discrete", "MultiDiscrete", "MultiBinary"),
    "SAC": ("Box",),
    "TD3": ("Box",),
    "DDPG": ("Box",),
    "DQN": ("Discrete",),
}
"""Action spaces each algorithm supports (SB3's own `supported_action_spaces`, written out for messages)."""

SET_BY_REWARD_CODER = {
    "seed": "--seed", "device": "--device", "verbose": "the progress output", "tensorboard_log": "the run folder",
    "env": "the card", "policy": "the card (MlpPolicy)",
}
"""Constructor arguments the trainer sets itself: a hyperparameter may not set them too."""

_POLICY_CONSTRUCTED = {"self", "observation_space", "action_space", "lr_schedule"}


def algorithm_class(name: str):
    """The SB3 class of `name` (any case), or a one-line ConfigError listing the algorithms."""
    import stable_baselines3

    upper = name.upper()
    if upper not in ALGORITHMS:
        close = difflib.get_close_matches(upper, ALGORITHMS, n=2, cutoff=0.5)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown algorithm '{name}'{hint}; use one of {', '.join(ALGORITHMS)}")
    return getattr(stable_baselines3, upper)


def check_action_space(algorithm: str, action_space: Any, where: str) -> None:
    """A ConfigError when `algorithm` cannot act in `action_space` (a gymnasium space)."""
    kind = type(action_space).__name__
    supported = ACTION_SPACES.get(algorithm.upper(), ())
    if kind in supported:
        return
    fits = [name for name, spaces in ACTION_SPACES.items() if kind in spaces]
    need = "a continuous (Box)" if supported == ("Box",) else "a Discrete" if supported == ("Discrete",) else "another"
    raise ConfigError(f"{where}: {algorithm.upper()} needs {need} action space, but the env's actions are {action_space}; "
                      f"use {', '.join(fits) or 'an algorithm for it'}")


def _parameters(function: Any) -> list[str]:
    return [name for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY) and not name.startswith("_")]


def _unknown(name: str, known: list[str], what: str) -> ConfigError:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    return ConfigError(f"{what} has no hyperparameter '{name}'; {hint}it takes: {', '.join(sorted(known))}")


def check_hyperparameters(algorithm: str, hyperparameters: dict[str, Any], where: str) -> None:
    """A ConfigError (one line, prefixed with `where`) for a name `algorithm`'s constructor does not take."""
    cls = algorithm_class(algorithm)
    known = [name for name in _parameters(cls.__init__) if name not in ("self", "policy", "env")]
    for name, value in hyperparameters.items():
        if name in SET_BY_REWARD_CODER:
            raise ConfigError(f"{where}: '{name}' is set by {SET_BY_REWARD_CODER[name]}, not as a hyperparameter")
        if name not in known:
            raise ConfigError(f"{where}: {_unknown(name, [k for k in known if k not in SET_BY_REWARD_CODER], cls.__name__)}")
    policy_kwargs = hyperparameters.get("policy_kwargs")
    if isinstance(policy_kwargs, dict) and policy_kwargs:
        policy = cls.policy_aliases.get("MlpPolicy")
        if policy is not None:
            accepted = _parameters(policy.__init__)
            known_policy = [name for name in accepted if name not in _POLICY_CONSTRUCTED]
            for name in policy_kwargs:
                if name not in known_policy:
                    raise ConfigError(f"{where}: policy_kwargs: "
                                      f"{_unknown(name, known_policy, f'{cls.__name__} MlpPolicy ({policy.__name__})')}")
    elif policy_kwargs is not None and not isinstance(policy_kwargs, dict):
        raise ConfigError(f"{where}: policy_kwargs must be a dict, e.g. policy_kwargs.net_arch=[64,64]")
