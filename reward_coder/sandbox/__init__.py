"""Running untrusted reward code: static checks, a sandboxed worker, the verdict, a training guard.

Layers, outermost first: `static_check` refuses code by its syntax tree and explains why; every
execution happens in a `SandboxedReward` worker (bubblewrap, resource limits, seccomp, emptied
environment; see isolation.py); the parent judges the raw numbers that come back (`verdict`); during
training a `GuardedReward` turns a candidate that goes bad into a `RewardFailure` for that candidate
alone.
"""

from reward_coder.sandbox.check import check_candidate
from reward_coder.sandbox.doctor import SandboxHealth, sandbox_health
from reward_coder.sandbox.guard import GuardedReward, RewardFailure
from reward_coder.sandbox.isolation import (
    NO_BWRAP_ENV,
    IsolationStatus,
    detect_isolation,
    require_isolation,
)
from reward_coder.sandbox.static import static_check
from reward_coder.sandbox.verdict import judge_call, judge_determinism, judge_sample, term_stats
from reward_coder.sandbox.worker import CallError, OutputProblem, RawOutput, SandboxedReward, SandboxLimits

__all__ = [
    "NO_BWRAP_ENV",
    "CallError",
    "GuardedReward",
    "IsolationStatus",
    "OutputProblem",
    "RawOutput",
    "RewardFailure",
    "SandboxHealth",
    "SandboxLimits",
    "SandboxedReward",
    "check_candidate",
    "detect_isolation",
    "judge_call",
    "judge_determinism",
    "judge_sample",
    "require_isolation",
    "sandbox_health",
    "static_check",
    "term_stats",
]
