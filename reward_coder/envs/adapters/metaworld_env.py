"""The wrapper MetaWorldAdapter.wrap_env puts around every Meta-World MT1 env (imported only when an env is built)."""

from __future__ import annotations

from typing import Any

import gymnasium


class ReseedTaskSampler(gymnasium.Wrapper):
    """Makes `reset(seed=s)` seed the RNG that MT1 draws each episode's task (object and goal) from.

    MT1's RandomTaskSelectWrapper draws with the Sawyer env's `np_random`, which the Sawyer env's
    `reset()` never reseeds; without this every env built with the same make_kwargs seed would see the
    same sequence of goals whatever seed SB3 or make_env gives its reset.
    """

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self.env.unwrapped.seed(int(seed))
        return self.env.reset(seed=seed, options=options)
