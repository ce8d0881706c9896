"""Build the gymnasium env of a card, wrapped so its fields can be derived (see probe.py)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium

from reward_coder.envs.adapters.base import adapter_for
from reward_coder.envs.probe import FieldProbe
from reward_coder.errors import RewardCoderError
from reward_coder.types import EnvCard


class EnvBuildError(RewardCoderError):
    """An env card's environment could not be created (missing package, bad make_kwargs, ...)."""


_ENV_PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("Meta-World/", "metaworld", "pip install 'reward-coder[metaworld]'"),
    ("Crafter", "crafter", "pip install 'reward-coder[crafter]'"),
    ("MineDojo", "minedojo", "MineDojo also needs JDK 8, old pip/setuptools with numpy<2 and network access on its "
                             "first make (reward_coder/openworld/minedojo.py); `pip install minedojo` where those exist"),
    ("Fetch", "gymnasium_robotics", "pip install 'reward-coder[robotics]'"),
    ("Adroit", "gymnasium_robotics", "pip install 'reward-coder[robotics]'"),
    ("PointMaze", "gymnasium_robotics", "pip install 'reward-coder[robotics]'"),
    ("AntMaze", "gymnasium_robotics", "pip install 'reward-coder[robotics]'"),
    ("FrankaKitchen", "gymnasium_robotics", "pip install 'reward-coder[robotics]'"),
)
"""env id prefix -> package that registers those ids on import, and how to install it."""


class _SeedFirstReset(gymnasium.Wrapper):
    """Uses `seed` for the first reset() that is called without one, so env_fns(seed) is reproducible.

    SB3's VecEnvs call reset() without a seed unless venv.seed() was called; without this the first
    episode of every env would start from OS entropy.
    """

    def __init__(self, env: gymnasium.Env, seed: int) -> None:
        super().__init__(env)
        self._pending_seed: int | None = seed
        env.action_space.seed(seed)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)


def continue_streams(env: gymnasium.Env) -> None:
    """Drop a pending first-reset seed, so the next reset continues the env's restored RNG stream."""
    while isinstance(env, gymnasium.Wrapper):
        if isinstance(env, _SeedFirstReset):
            env._pending_seed = None
        env = env.env


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _import_env_package(env_id: str) -> None:
    for prefix, module, install in _ENV_PACKAGES:
        if env_id.startswith(prefix):
            try:
                importlib.import_module(module)
            except ImportError as err:
                raise EnvBuildError(
                    f"env {env_id} needs the package '{module}' ({_one_line(err)}); {install}"
                ) from err
            return


def make_env(
    card: EnvCard,
    *,
    seed: int | None = None,
    render_mode: str | None = None,
    max_episode_steps: int | None = None,
    fields: Sequence[str] | None = None,
) -> gymnasium.Env:
    """The card's env: gymnasium.make(env_id, **make_kwargs) with a TimeLimit, then the adapter's
    `wrap_env` (e.g. flattening Fetch's dict obs), then FieldProbe.

    `max_episode_steps` overrides the card's train.max_episode_steps (tests use short episodes).
    `seed` seeds the first reset() that comes without a seed, and the action space.
    `fields` limits the probe to what those fields need (see adapter_for); None probes for all of them.
    Raises EnvBuildError naming the env id and the underlying error in one line.
    """
    adapter = adapter_for(card, fields)
    _import_env_package(card.env_id)
    steps = max_episode_steps if max_episode_steps is not None else card.train.max_episode_steps
    try:
        env = gymnasium.make(
            card.env_id, max_episode_steps=steps, render_mode=render_mode, **card.make_kwargs
        )
    except Exception as err:  # gymnasium.make raises whatever the env's constructor raises
        raise EnvBuildError(
            f"could not build env {card.env_id} (card '{card.id}'): {type(err).__name__}: {_one_line(err)}; "
            "check the card's env_id and make_kwargs and that the env's package is installed"
        ) from err
    env = adapter.wrap_env(env)
    if seed is not None:
        env = _SeedFirstReset(env, seed)
    # Without simulator-only fields there is nothing to probe: skipping the wrapper saves its cost on
    # every step (and DummyVecEnv's deep copy of a bigger info dict).
    return FieldProbe(env, adapter) if adapter.needs_probe else env


def env_fns(card: EnvCard, n_envs: int, seed: int, **make_options: Any) -> list[Callable[[], gymnasium.Env]]:
    """n_envs env constructors (env i seeded with seed + i), e.g. for SB3's DummyVecEnv/SubprocVecEnv.

    Constructors are picklable closures over the card, so SubprocVecEnv can ship them to workers.
    `make_options` are passed on to make_env (render_mode, max_episode_steps, fields).
    """
    return [_EnvFactory(card, seed + i, make_options) for i in range(n_envs)]


class _EnvFactory:
    """A picklable `() -> env` (a lambda would not survive SubprocVecEnv's pickling with spawn)."""

    def __init__(self, card: EnvCard, seed: int, make_options: dict[str, Any]) -> None:
        self.card, self.seed, self.make_options = card, seed, make_options

    def __call__(self) -> gymnasium.Env:
        return make_env(self.card, seed=self.seed, **self.make_options)
