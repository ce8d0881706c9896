"""Training processes and sandbox workers start with no provider keys (issue 13, item 7).

A canary credential set in the parent must not reach a pool worker's environment - neither os.environ
nor the environment block the process was started with (/proc/self/environ) - nor a sandboxed reward.
"""

from __future__ import annotations

import os
from pathlib import Path

from reward_coder.sandbox import check_candidate
from reward_coder.train.executor import LocalExecutor, secret_variables

CANARY = "sk-canary-4f0c9e1d"


def _environment_of_this_process(_job: object) -> tuple[dict[str, str], bytes]:
    return dict(os.environ), Path("/proc/self/environ").read_bytes()


def test_secret_variables_are_recognised_by_their_name():
    names = {"OPENAI_API_KEY": "x", "ANTHROPIC_API_KEY": "x", "HF_TOKEN": "x", "AWS_SECRET_ACCESS_KEY": "x",
             "AWS_ACCESS_KEY_ID": "x", "GOOGLE_APPLICATION_CREDENTIALS": "x", "MY-SERVICE-PASSWORD": "x",
             "PATH": "/bin", "HOME": "/root", "KEYBOARD_LAYOUT_X": "x", "TOKENIZERS_PARALLELISM": "false",
             "CUDA_VISIBLE_DEVICES": "0"}
    assert secret_variables(names) == sorted(["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "HF_TOKEN",
                                              "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
                                              "GOOGLE_APPLICATION_CREDENTIALS", "MY-SERVICE-PASSWORD"])


def test_a_canary_key_never_reaches_a_training_process(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    monkeypatch.setenv("RC_TEST_AUTH_TOKEN", CANARY)
    monkeypatch.setenv("RC_HARMLESS_SETTING", "kept")
    executor = LocalExecutor(2)
    try:
        results = [result for _index, result in executor.map_unordered(_environment_of_this_process, [0, 1, 2])]
    finally:
        executor.close()
    assert len(results) == 3
    for environ, block in results:
        assert CANARY not in environ.values()
        assert CANARY.encode() not in block
        assert environ.get("RC_HARMLESS_SETTING") == "kept"  # only credentials are held back
    assert os.environ["OPENAI_API_KEY"] == CANARY  # the parent keeps its key for the LLM


def test_a_canary_key_never_reaches_a_sandboxed_reward(monkeypatch):
    """Even with the static check off, the worker's whole environment has no canary in it."""
    import numpy as np

    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    code = """
import os


def compute_reward(state, action, next_state):
    raise ValueError("environment: " + " ".join(sorted(os.environ.values())))
"""
    batch = ({"x": np.zeros(4)}, np.zeros((4, 1)), {"x": np.zeros(4)})
    report = check_candidate(code, field_names=("x",), batches=batch, skip_static=True)
    messages = " ".join(issue.describe() for issue in report.errors)
    assert "environment:" in messages  # the candidate did read and report its environment
    assert CANARY not in messages
