"""Fixtures of the manipulation tests: packaged cards only, whatever REWARD_CODER_CARDS says."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_user_cards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REWARD_CODER_CARDS", raising=False)
