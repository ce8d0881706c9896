"""`--algo` and `--hyperparams`, shared by `run`, `bench` and `train` (syntax: reward_coder.hyperparams)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from reward_coder.hyperparams import ALGORITHMS, parse_algorithm, parse_hyperparameters

AlgoOption = Annotated[Optional[str], typer.Option(
    "--algo", help=f"SB3 algorithm ({', '.join(ALGORITHMS)}; SAC/TD3/DDPG need continuous actions, DQN discrete). "
                   "Default: the card's. Another than the card's trains from SB3's defaults plus --hyperparams.")]
HyperparamsOption = Annotated[Optional[str], typer.Option(
    "--hyperparams", help="SB3 arguments over the card's, e.g. learning_rate=1e-4,batch_size=256,"
                          "policy_kwargs.net_arch=[64,64] (values are Python literals).")]


def knob_settings(algo: str | None, hyperparams: str | None) -> dict[str, Any]:
    """RunConfig fields from the two options (names are checked against SB3 in the preflight)."""
    return {"algorithm": parse_algorithm(algo), "hyperparameters": parse_hyperparameters(hyperparams)}
