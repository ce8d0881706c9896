"""One frozen run configuration, saved into every run folder (house rule 4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides what a `generate` or `run` does. Defaults are what a first run should use."""

    instruction: str
    """The task in plain language, as the designer prompt shows it."""
    env: str
    """Env card id (e.g. 'pendulum'); the card says which gymnasium env is built and how."""
    task: str = ""
    """Named task 'card/task' when the task came from a card; empty for free text."""
    model: str = "gpt-4o"
    """LLM: a litellm model string ('gpt-4o', 'anthropic/...', 'ollama/...') or 'replay:PATH' for offline."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible server (vLLM, a proxy); None uses the provider's default."""
    llm_retries: int = 4
    """Retries of an LLM call on rate limits, 5xx, timeouts and lost connections (exponential backoff)."""
    llm_timeout_s: float = 120.0
    """Seconds before one LLM call counts as timed out."""
    samples: int = 4
    """K: reward candidates asked for per iteration. Eureka used 16; 4 fits a 2-core machine."""
    temperature: float = 1.0
    """Sampling temperature; diversity between the K candidates matters more than any single one."""
    repair_attempts: int = 1
    """Rounds in which a candidate that fails extraction or checks is sent back with its errors."""
    iterations: int = 2
    """Design -> train -> analyze rounds of `run`."""
    critic: bool = True
    """Review each checked candidate with the critic prompt before training it."""
    llm_analysis: bool = False
    """Have the LLM restate the analyzer's measurements as a short diagnosis (Auto MC-Reward); the
    measurements themselves are always computed and always shown."""
    critic_revisions: int = 1
    """How many times a candidate may be revised on the critic's word before it is trained as is."""
    seed: int = 0
    """Seed of sampling rollouts, training and evaluation."""
    total_timesteps: int | None = None
    """Training budget per candidate; None takes the task's or card's default."""
    eval_episodes: int | None = None
    """Evaluation episodes per candidate and rung; None takes the card's default (10 on every packaged card,
    so success moves in steps of 0.1 and candidates separate)."""
    finalists: int = 2
    """How many of the run's best rewards are retrained on fresh seeds at the end (0: no finals)."""
    final_seeds: int = 3
    """Fresh training seeds per finalist (Eureka used 5); best.json reports mean, std and a 95% bootstrap
    interval over them, from evaluation episodes never used to choose. 0 skips the finals."""
    device: str = "auto"
    """Torch device for training: 'auto' uses CUDA when present, else 'cpu'."""
    workers: int = 0
    """Candidates trained side by side; 0 means one per CPU core."""
    max_cost_usd: float | None = None
    """Stop cleanly before LLM spending would pass this; None means no limit."""
    allow_unsandboxed: bool = False
    """Run candidate code without OS isolation when bubblewrap is unavailable (resource limits only)."""
    check_steps: int = 64
    """Steps per env of the random and scripted rollouts whose states the sandboxed check runs on."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Read a saved config, ignoring keys of newer versions so old runs stay readable."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_changes(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)
