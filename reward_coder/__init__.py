"""reward-coder: turn a task in plain language into a checked, dense reward function, and prove it by training."""

__version__ = "0.1.0"

__all__ = ["load_reward", "RewardWrapper", "RewardVecWrapper", "VectorRewardWrapper", "make_env", "get_card"]


def __getattr__(name: str):
    """Public API, imported lazily so `import reward_coder` stays cheap."""
    if name == "load_reward":
        from reward_coder.reward import load_reward

        return load_reward
    if name == "RewardWrapper":
        from reward_coder.reward import RewardWrapper

        return RewardWrapper
    if name == "VectorRewardWrapper":
        from reward_coder.reward.vector import VectorRewardWrapper

        return VectorRewardWrapper
    if name == "RewardVecWrapper":
        from reward_coder.train.vec_reward import RewardVecWrapper

        return RewardVecWrapper
    if name in ("make_env", "get_card"):
        import reward_coder.envs as envs

        return getattr(envs, name)
    raise AttributeError(f"module 'reward_coder' has no attribute '{name}'")
