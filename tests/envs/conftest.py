"""Fixtures of the env-layer tests: an isolated card search path and a writer of card files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from reward_coder.resources import data_dir


@pytest.fixture(autouse=True)
def _no_user_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see the packaged cards only, whatever the developer's REWARD_CODER_CARDS says."""
    monkeypatch.delenv("REWARD_CODER_CARDS", raising=False)


@pytest.fixture
def pendulum_card_data() -> dict[str, Any]:
    """The packaged pendulum card as plain data, to be mutated into malformed cards."""
    return yaml.safe_load((data_dir("envs") / "pendulum.yaml").read_text())


@pytest.fixture
def write_card(tmp_path: Path) -> Callable[..., Path]:
    """write_card(data, name='card.yaml', folder=tmp_path) -> path of the written YAML file."""

    def write(data: Any, name: str = "card.yaml", folder: Path | None = None) -> Path:
        target = (folder or tmp_path) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        target.write_text(text)
        return target

    return write
