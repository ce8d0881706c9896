"""The in-process path (`load_reward(..., sandboxed=False)`) is for trusted code, and says so (issue 13, item 8).

The audit's candidate reached the real builtins through numpy's module aliases and wrote a host file
holding an API key through this path. It must now be refused by the same static check the sandbox
uses, before any of it runs; a loaded reward warns once per process.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import reward_coder.reward.compile as compile_module
from reward_coder.reward import RewardLoadError, load_reward
from reward_coder.reward.compile import InProcessRewardWarning

ESCAPE = '''
import numpy as np

b = np.ma.extras.ma.builtins
os = b.__import__("os")
b.open({marker!r}, "w").write(os.environ.get("OPENAI_API_KEY", ""))


def compute_reward(state, action, next_state):
    return next_state.x, {{}}
'''

TRUSTED = '''
import numpy as np


def compute_reward(state, action, next_state):
    speed = np.asarray(next_state.x)
    return speed, {"speed": speed}
'''


@pytest.fixture(autouse=True)
def fresh_warning(monkeypatch):
    monkeypatch.setattr(compile_module, "_warned_in_process", False)


def test_the_audit_escape_is_refused_in_process_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-in-process")
    marker = tmp_path / "leak.txt"
    path = tmp_path / "escape.py"
    path.write_text(ESCAPE.format(marker=str(marker)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InProcessRewardWarning)
        with pytest.raises(RewardLoadError, match="static check") as refused:
            load_reward(path, sandboxed=False)
    assert "line 4" in str(refused.value)  # the user's own line of the alias chain
    assert not marker.exists()


def test_trusted_code_runs_in_process_and_warns_once(tmp_path):
    path = tmp_path / "best.py"
    path.write_text(TRUSTED)
    with pytest.warns(InProcessRewardWarning, match="only for code you trust"):
        reward = load_reward(path, sandboxed=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InProcessRewardWarning)
        load_reward(path, sandboxed=False)  # a second load does not warn again
    values, terms = reward({"x": np.zeros(3)}, np.zeros((3, 1)), {"x": np.array([1.0, 2.0, 3.0])})
    assert values.tolist() == [1.0, 2.0, 3.0] and terms["speed"].tolist() == [1.0, 2.0, 3.0]
