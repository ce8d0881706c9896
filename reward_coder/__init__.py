"""reward-coder: turn a task in plain language into a checked, dense reward function, and prove it by training."""

__version__ = "0.1.0"
