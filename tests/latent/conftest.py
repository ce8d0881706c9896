"""Shared fixtures of the latent-mode tests: real sampled states, sandbox isolation, the stand-in answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STANDINS = Path(__file__).resolve().parents[2] / "reward_coder" / "standins"


def standin_samples(name: str, purpose: str) -> list[str]:
    """The hand-written stand-in answers (not a model's) of one latent prompt."""
    path = STANDINS / f"{name}.latent.handwritten-standin.jsonl"
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["purpose"] == purpose:
            return record["samples"]
    raise KeyError(purpose)


@pytest.fixture(scope="session")
def standin():
    """standin(name, purpose) -> the stand-in answers of that file and prompt."""
    return standin_samples


@pytest.fixture(scope="session")
def isolation():
    from reward_coder.sandbox import require_isolation

    return require_isolation(True)


@pytest.fixture(scope="session")
def cheetah():
    from reward_coder.envs import sample_transitions
    from reward_coder.tasks import resolve_task

    task = resolve_task("halfcheetah/run-forward-episodic", None, None)
    return task, sample_transitions(task.card, n_envs=4, n_steps=32, seed=0)


@pytest.fixture(scope="session")
def hopper():
    from reward_coder.envs import sample_transitions
    from reward_coder.tasks import resolve_task

    task = resolve_task("hopper/hop-forward-episodic", None, None)
    return task, sample_transitions(task.card, n_envs=4, n_steps=32, seed=0)
