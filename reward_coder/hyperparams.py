"""`--algo` and `--hyperparams`: the training knobs a user gives on the command line, parsed and merged (pure).

Syntax of `--hyperparams` (one string, comma-separated `key=value` pairs):

    learning_rate=1e-4,batch_size=256,gamma=0.98
    policy_kwargs.net_arch=[64,64],policy_kwargs.activation_fn=tanh
    policy_kwargs.net_arch={'pi':[64],'vf':[64]},use_sde=True,train_freq=(1,'step')

- `key` is a keyword argument of the SB3 algorithm's constructor (`PPO(...)`, `SAC(...)`, ...);
  `name.key` sets one entry of a dict-valued argument whose name ends in `_kwargs` (`policy_kwargs`,
  `replay_buffer_kwargs`, ...), keeping the card's other entries.
- `value` is a Python literal read with `ast.literal_eval` (never `eval`): numbers, True/False/None,
  quoted strings, lists, tuples and dicts of those. A bare word that is no literal (`tanh`, `auto`) is the
  string itself. Commas inside brackets or quotes do not split pairs.

What is applied (`train_settings`): the card's `train.hyperparameters`, then these over them: a
`*_kwargs` dict merges key by key, any other key replaces the card's value. An `--algo` other than the
card's algorithm drops the card's hyperparameters, which were tuned for (and are often arguments of
only) its own algorithm: SB3's defaults, plus `--hyperparams`, train then.

Whether a name exists for an algorithm is checked against its constructor by
`reward_coder.train.knobs.check_hyperparameters` (train/ is where SB3 is imported).
"""

from __future__ import annotations

import ast
from typing import Any

from reward_coder.errors import ConfigError

ALGORITHMS = ("PPO", "SAC", "TD3", "A2C", "DQN", "DDPG")
"""The SB3 algorithms `--algo` accepts (upper case; given in any case)."""


CONTINUOUS_ONLY = ("SAC", "TD3", "DDPG")
"""Algorithms that act in a continuous (Box) action space only."""
DISCRETE_ONLY = ("DQN",)
"""Algorithms that pick one of a Discrete set of actions only."""


def action_space_problem(algorithm: str, discrete: bool) -> str | None:
    """Why `algorithm` cannot act on a card whose action is `discrete` (or not), in words; None when it can."""
    name = algorithm.upper()
    if discrete and name in CONTINUOUS_ONLY:
        return f"{name} needs a continuous (Box) action space, but the card's actions are discrete; use PPO, A2C or DQN"
    if not discrete and name in DISCRETE_ONLY:
        return (f"{name} needs a Discrete action space, but the card's actions are continuous; "
                "use PPO, A2C, SAC, TD3 or DDPG")
    return None


def parse_algorithm(text: str | None) -> str | None:
    """'sac' -> 'SAC'; None stays None (the card's algorithm); anything else is a one-line ConfigError."""
    if text is None:
        return None
    name = text.strip().upper()
    if name not in ALGORITHMS:
        import difflib

        close = difflib.get_close_matches(name, ALGORITHMS, n=2, cutoff=0.5)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ConfigError(f"--algo '{text}' is not an algorithm reward-coder trains with{hint}; "
                          f"use one of {', '.join(ALGORITHMS)}")
    return name


def _split_pairs(text: str) -> list[str]:
    """Split on commas outside brackets and quotes."""
    pairs, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            pairs.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote or depth != 0:
        raise ConfigError(f"--hyperparams '{text}': unbalanced {'quote' if quote else 'brackets'}; "
                          "write e.g. policy_kwargs.net_arch=[64,64]")
    pairs.append("".join(current))
    return pairs


def _literal(key: str, text: str) -> Any:
    value_text = text.strip()
    if not value_text:
        raise ConfigError(f"--hyperparams: '{key}=' has no value; write e.g. {key}=0.001")
    try:
        return ast.literal_eval(value_text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if value_text.replace("_", "").replace("-", "").isalnum():
            return value_text  # a bare word: activation_fn=tanh, device-like names
        raise ConfigError(f"--hyperparams: the value of '{key}' ({value_text!r}) is not a Python literal; "
                          "use numbers, True/False/None, quoted strings, [lists], (tuples) or {dicts}") from None


def parse_hyperparameters(text: str | None) -> dict[str, Any]:
    """'learning_rate=1e-4,policy_kwargs.net_arch=[64,64]' -> {'learning_rate': 0.0001,
    'policy_kwargs': {'net_arch': [64, 64]}}. Empty or None -> {}. A malformed pair is one ConfigError line."""
    if text is None or not text.strip():
        return {}
    result: dict[str, Any] = {}
    for pair in _split_pairs(text.strip()):
        if not pair.strip():
            continue
        key, sep, value_text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--hyperparams: '{pair.strip()}' is not key=value; write e.g. learning_rate=1e-4,batch_size=256")
        parts = key.split(".")
        if len(parts) > 2 or not all(part.isidentifier() for part in parts):
            raise ConfigError(f"--hyperparams: '{key}' is not a name or name.key (e.g. policy_kwargs.net_arch)")
        value = _literal(key, value_text)
        if len(parts) == 2:
            outer, inner = parts
            if not outer.endswith("_kwargs"):
                raise ConfigError(f"--hyperparams: '{key}': only dict arguments named *_kwargs (policy_kwargs, ...) "
                                  "take name.key")
            existing = result.setdefault(outer, {})
            if not isinstance(existing, dict):
                raise ConfigError(f"--hyperparams: '{outer}' is given both whole and as {key}")
            if inner in existing:
                raise ConfigError(f"--hyperparams: '{key}' is given twice")
            existing[inner] = value
        else:
            if key in result:
                raise ConfigError(f"--hyperparams: '{key}' is given twice")
            result[key] = value
    return result


def merge_hyperparameters(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` over `base`: a `*_kwargs` dict merges key by key, any other key replaces (neither is changed)."""
    merged = {key: (dict(value) if isinstance(value, dict) else value) for key, value in base.items()}
    for key, value in overrides.items():
        if key.endswith("_kwargs") and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = dict(value) if isinstance(value, dict) else value
    return merged


def train_settings(card_algorithm: str, card_hyperparameters: dict[str, Any], algorithm: str | None,
                   overrides: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(algorithm, hyperparameters) a job trains with: the card's, with `--algo` and `--hyperparams` applied.

    An algorithm other than the card's starts from SB3's defaults rather than the card's hyperparameters
    (tuned for the card's algorithm; PPO's n_steps is no argument of SAC's).
    """
    chosen = (algorithm or card_algorithm).upper()
    base = dict(card_hyperparameters) if chosen == card_algorithm.upper() else {}
    return chosen, merge_hyperparameters(base, dict(overrides or {}))


def describe_hyperparameters(hyperparameters: dict[str, Any]) -> str:
    """The --hyperparams text that gives `hyperparameters` (for messages and result files)."""
    items = []
    for key, value in hyperparameters.items():
        if key.endswith("_kwargs") and isinstance(value, dict):
            items += [f"{key}.{inner}={inner_value!r}" for inner, inner_value in value.items()]
        else:
            items.append(f"{key}={value!r}")
    return ",".join(items)
