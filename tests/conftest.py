"""Fixtures for every test: no test reads or fills the user's LLM cache (as simonw/llm redirects its user dir)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_llm_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """`generate` caches answers in a user folder; each test gets an empty one of its own."""
    folder = tmp_path_factory.mktemp("llm-cache")
    monkeypatch.setenv("REWARD_CODER_LLM_CACHE", str(folder))
    return folder
