"""`--max-tokens`, `--split-samples` and `--timeout` end to end: `generate` against the local fake server."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reward_coder.cli.main import app
from reward_coder.config import DEFAULT_LLM_MAX_TOKENS
from reward_coder.llm.tokens import litellm_counter

from fake_openai_server import FakeOpenAI

REWARD_ANSWER = """An upright pole scores highest; spinning and torque cost a little.

```python
import numpy as np

def compute_reward(state, action, next_state):
    upright = next_state.cos_theta
    spin = 0.1 * next_state.angular_velocity ** 2
    effort = 0.001 * np.sum(action ** 2, axis=1)
    reward = upright - spin - effort
    return reward, {"upright": upright, "spin": -spin, "effort": -effort}
```
"""


def _generate(server: FakeOpenAI, out: Path, *options: str):
    args = ["generate", "--task", "pendulum/swing-up", "--model", "openai/fake-model", "--api-base", server.base_url,
            "-k", "2", "--repair", "0", "--allow-unsandboxed", "--out", str(out), *options]
    return CliRunner().invoke(app, args)


def test_generate_sends_and_records_the_limits(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.answers[:] = [REWARD_ANSWER]
    fake_openai.choice_tokens[:] = [litellm_counter("openai/fake-model")(REWARD_ANSWER)]  # reported right
    out = tmp_path / "gen"

    result = _generate(fake_openai, out, "--max-tokens", "designer=900,critic=300", "--timeout", "45")

    assert result.exit_code in (0, 1), result.stderr  # 1 only says no candidate passed; options were fine
    config = json.loads((out / "config.json").read_text())
    assert config["llm_max_tokens"] == {**DEFAULT_LLM_MAX_TOKENS, "designer": 900, "critic": 300}
    assert config["llm_split_samples"] is True and config["llm_timeout_s"] == 45.0  # 127.0.0.1 is local
    # two single-sample requests (split for a local server), each bounded
    assert [(r["body"].get("n"), r["body"]["max_tokens"]) for r in fake_openai.requests] == [(None, 900)] * 2
    [record] = [json.loads(line) for line in (out / "llm_journal.jsonl").read_text().splitlines()]
    assert record["request"]["max_tokens"] == 900 and record["tokens_estimated"] is False
    assert len(record["samples"]) == 2


def test_no_split_samples_is_recorded_and_honoured(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    fake_openai.answers[:] = [REWARD_ANSWER]
    out = tmp_path / "gen"
    result = _generate(fake_openai, out, "--no-split-samples")
    assert result.exit_code in (0, 1), result.stderr
    assert json.loads((out / "config.json").read_text())["llm_split_samples"] is False
    assert [r["body"].get("n") for r in fake_openai.requests] == [2]


def test_a_bad_max_tokens_is_one_clear_line(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    result = _generate(fake_openai, tmp_path / "gen", "--max-tokens", "critc=300")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "unknown purpose 'critc'" in result.stderr and fake_openai.requests == []
