"""Fixtures of the LLM tests: no provider keys, and a local fake OpenAI-compatible server.

Nothing here reaches a real provider: the keys are removed from the environment in every test, and
the LiteLLM tests talk to `http.server` on 127.0.0.1 (random port).
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from fake_openai_server import FakeOpenAI, serve_fake_openai

# litellm downloads a price list at import unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may pick up a real key from the developer's shell."""
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_API_BASE", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def _fake_openai_server() -> Iterator[FakeOpenAI]:
    yield from serve_fake_openai()


@pytest.fixture
def fake_openai(_fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """The fake server, reset for this test."""
    _fake_openai_server.reset()
    yield _fake_openai_server
    _fake_openai_server.reset()
