"""`generate` loses nothing it received on Ctrl-C, and the same `generate` again is answered from its LLM cache.

The model is the local fake OpenAI-compatible server (fake_openai_server.py), so every request the
provider gets is counted: a rerun that pays again shows up as a new request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fake_openai_server import FakeOpenAI
from reward_coder.config import RunConfig
from reward_coder.generate import llm_cache_dir, run_generate
from reward_coder.llm import ReplayCompleter
from reward_coder.store import RunStore
from reward_coder.tasks import resolve_task
from reward_coder.types import CompletionRequest

REWARD = """```python
import numpy as np

def compute_reward(state, action, next_state):
    upright = np.cos(next_state.theta)
    effort = -0.001 * np.sum(action ** 2, axis=1)
    return upright + effort, {"upright": upright, "effort": effort}
```"""

TASK = "pendulum/swing-up"


def _config(server: FakeOpenAI, samples: int = 3, split: bool = False) -> RunConfig:
    task = resolve_task(TASK, None, None)
    return RunConfig(instruction=task.instruction, env=task.card.id, task=task.key, model="openai/fake-model",
                     api_base=server.base_url, samples=samples, repair_attempts=0, llm_retries=0,
                     llm_split_samples=split)


def _journal(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "llm_journal.jsonl").read_text().splitlines()]


def test_ctrl_c_keeps_the_answers_and_the_same_generate_reuses_them(fake_openai: FakeOpenAI, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import reward_coder.generate as generate

    fake_openai.answers[:] = [REWARD]
    task = resolve_task(TASK, None, None)
    cache = tmp_path / "cache"
    real_checker = generate.make_checker

    def interrupting_checker(task, config, emit):
        check = real_checker(task, config, emit)
        calls = []

        def checker(code):
            calls.append(code)
            if len(calls) == 2:
                raise KeyboardInterrupt  # the user presses Ctrl-C while the second candidate is checked
            return check(code)

        return checker

    monkeypatch.setattr(generate, "make_checker", interrupting_checker)
    first = tmp_path / "first"
    with pytest.raises(KeyboardInterrupt):
        run_generate(_config(fake_openai), task, RunStore.create(first), cache_dir=cache)
    monkeypatch.setattr(generate, "make_checker", real_checker)

    assert len(fake_openai.requests) == 1
    designer = _journal(first)[0]
    assert designer["purpose"] == "designer" and designer["samples"] == [REWARD] * 3  # the answer landed
    assert (first / "prompts" / "1_user.txt").exists()  # the prompts are written before the first call
    assert "Interrupted" in (first / "summary.md").read_text()
    assert list(cache.glob("*.json"))  # and the answer is in the cache

    # the same generate again (another folder) is answered from the cache: no new request, no cost
    second = tmp_path / "second"
    result = run_generate(_config(fake_openai), task, RunStore.create(second), cache_dir=cache)
    assert len(fake_openai.requests) == 1
    assert result.reused == 1 and result.cost_usd == 0.0
    assert [c.status for c in result.candidates] == ["ok"] * 3
    # its folder still describes itself: the journal holds the full record, so it replays the run
    record = _journal(second)[0]
    assert record["samples"] == [REWARD] * 3 and record["cached"] is True
    replayed = ReplayCompleter(second / "llm_journal.jsonl", mode="exact").complete(
        CompletionRequest.from_dict(record["request"]))
    assert replayed.samples == (REWARD,) * 3

    # the same folder again: answered from the cache, and not journaled a second time
    run_generate(_config(fake_openai), task, RunStore.create(second), cache_dir=cache)
    assert len(_journal(second)) == 1 and len(fake_openai.requests) == 1


def test_cache_folder_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARD_CODER_LLM_CACHE", str(tmp_path / "env"))
    assert llm_cache_dir() == tmp_path / "env"
    assert llm_cache_dir(str(tmp_path / "option")) == tmp_path / "option"  # --llm-cache wins
    assert llm_cache_dir("off") is None
    monkeypatch.delenv("REWARD_CODER_LLM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert llm_cache_dir() == tmp_path / "xdg" / "reward-coder" / "llm"


def test_sigint_during_split_samples_keeps_the_arrived_ones(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) to `reward-coder generate` while one of three split samples is still on its way."""
    fake_openai.answers[:] = [REWARD]
    fake_openai.delays[:] = [0.0, 0.0, 4.0]  # two answers come at once, the third is slow
    cache = tmp_path / "cache"
    env = {**os.environ, "REWARD_CODER_LLM_CACHE": str(cache), "OPENAI_API_KEY": ""}
    out = tmp_path / "out"
    command = [sys.executable, "-m", "reward_coder.cli.main", "generate", "--task", TASK, "-k", "3",
               "--model", "openai/fake-model", "--api-base", fake_openai.base_url, "--split-samples",
               "--retries", "0", "--repair", "0", "--out", str(out)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(fake_openai.requests) < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        time.sleep(0.5)  # the two fast answers are in
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "the same command again reuses them" in " ".join(stderr.split())
    interrupted = _journal(out)[-1]
    assert interrupted["error"]["type"] == "KeyboardInterrupt"
    assert interrupted["error"]["arrived_samples"] == [REWARD] * 3  # the slow one finished while stopping
    assert list(cache.glob("*.part*.json"))  # kept on disk, not only in the dead process

    asked = len(fake_openai.requests)
    rerun = subprocess.run(command[:-1] + [str(tmp_path / "again")], env=env, capture_output=True, text=True,
                           timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    assert len(fake_openai.requests) == asked  # nothing was asked again
    assert _journal(tmp_path / "again")[0]["samples"] == [REWARD] * 3
