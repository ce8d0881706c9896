"""make_completer and model-string checks: what a user sees when a model or key is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reward_coder.errors import LLMConfigError
from reward_coder.llm import LiteLLMCompleter, ReplayCompleter, make_completer, resolve_route


def test_openai_model_without_key_names_the_variable() -> None:
    with pytest.raises(LLMConfigError) as caught:
        make_completer("gpt-4o")
    message = str(caught.value)
    assert "OPENAI_API_KEY" in message and "gpt-4o" in message and "\n" not in message


@pytest.mark.parametrize("model", ["anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"])
def test_anthropic_model_without_key_names_the_variable(model: str) -> None:
    with pytest.raises(LLMConfigError, match="ANTHROPIC_API_KEY"):
        make_completer(model)


def test_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    completer = make_completer("gpt-4o")
    assert isinstance(completer, LiteLLMCompleter)
    assert completer.route.litellm_model == "openai/gpt-4o"
    assert "sk-from-env" not in repr(completer.route) and "sk-from-env" not in repr(completer)


def test_models_that_need_no_key() -> None:
    ollama = make_completer("ollama/qwen2.5-coder")
    assert ollama.name == "ollama/qwen2.5-coder"
    local = make_completer("openai/qwen", api_base="http://127.0.0.1:8000/v1")
    assert isinstance(local, LiteLLMCompleter) and local.route.endpoint == "http://127.0.0.1:8000/v1"


def test_any_model_behind_an_api_base_is_openai_compatible() -> None:
    route = resolve_route("Qwen/Qwen2.5-Coder-7B", api_base="http://gpu-box:8000/v1", env={})
    assert route.litellm_model == "openai/Qwen/Qwen2.5-Coder-7B" and route.provider == "openai-compatible"
    vllm = resolve_route("hosted_vllm/qwen", api_base="http://gpu-box:8000/v1", env={})
    assert vllm.litellm_model == "hosted_vllm/qwen"


def test_unknown_model_lists_accepted_forms() -> None:
    with pytest.raises(LLMConfigError) as caught:
        make_completer("my-favourite-model")
    message = str(caught.value)
    assert "my-favourite-model" in message
    for form in ("gpt-4o", "anthropic/claude", "ollama/qwen2.5-coder", "--api-base", "replay:PATH"):
        assert form in message


@pytest.mark.parametrize("model", ["", "   "])
def test_empty_model(model: str) -> None:
    with pytest.raises(LLMConfigError, match="no model given"):
        make_completer(model)


def test_replay_model_string(tmp_path: Path) -> None:
    recording = tmp_path / "demo.jsonl"
    recording.write_text(json.dumps({"purpose": "designer", "samples": ["x"]}) + "\n")
    completer = make_completer(f"replay:{recording}")
    assert isinstance(completer, ReplayCompleter)
    assert completer.mode == "exact" and completer.name == "replay:demo.jsonl"  # strict by default
    assert make_completer(f"replay-loose:{recording}").mode == "auto"
    assert make_completer("replay:standins").mode == "loose"  # hand-written: matched by purpose and label


def test_missing_replay_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(LLMConfigError, match="does not exist") as caught:
        make_completer(f"replay:{missing}")
    assert str(missing) in str(caught.value)
    with pytest.raises(LLMConfigError, match="needs a path"):
        make_completer("replay:")


def test_making_a_completer_does_not_import_litellm(tmp_path: Path) -> None:
    """litellm takes seconds to import: only a real call may pay for it."""
    script = (
        "import os, sys; os.environ['OPENAI_API_KEY'] = 'sk-fake';"
        "from reward_coder.llm import make_completer;"
        "make_completer('gpt-4o'); make_completer('ollama/qwen2.5-coder');"
        "assert 'litellm' not in sys.modules, 'litellm imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
