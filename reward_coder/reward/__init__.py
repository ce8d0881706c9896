"""Compile reward code into callables and apply them to environments."""

from reward_coder.reward.compile import InProcessReward, RewardFunction, RewardLoadError, load_reward, normalize_output
from reward_coder.reward.state import FieldView
from reward_coder.reward.terms import RunningStats, TermLog
from reward_coder.reward.wrappers import RewardWrapper

__all__ = [
    "FieldView", "InProcessReward", "RewardFunction", "RewardLoadError", "RewardWrapper",
    "RunningStats", "TermLog", "load_reward", "normalize_output",
]
