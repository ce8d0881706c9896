"""One frozen run configuration, saved into every run folder (house rule 4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

DEFAULT_LLM_MAX_TOKENS: dict[str, int] = {
    "designer": 1500,
    "repair": 1500,
    "critic": 1200,
    "analyzer": 800,
    "success_proposal": 400,
    "default": 1500,
}
"""Most tokens one answer may have, by request purpose ('default': any purpose not named).

A reward answer (a few lines of reasoning and one function) rarely passes 1,000 tokens: the longest of the
recorded real answers has ~890. The critic gets 1200, not less, because a 'revise' verdict ends with the
whole corrected function; the analyzer writes a few sentences; a success proposal is one JSON object.
The caps stop an answer that repeats itself (a recorded critic ran to the server's 2,048-token cap)."""


def default_llm_max_tokens() -> dict[str, int]:
    """A fresh copy of DEFAULT_LLM_MAX_TOKENS (a config must not share a mutable default)."""
    return dict(DEFAULT_LLM_MAX_TOKENS)


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
    llm_retries: int = 8
    """Retries of an LLM call on rate limits, 5xx, timeouts, lost connections, answers with no choices and
    truncated or malformed bodies (exponential backoff from 1 s, each wait at most 60 s: ~3 min in all).
    Each retry is shown and journaled. 8 keeps a run alive on an endpoint failing 30% of its requests."""
    llm_timeout_s: float = 120.0
    """Seconds before one LLM call counts as timed out (with split samples: each single-sample call)."""
    llm_price_per_1k_tokens: tuple[float, float] | None = None
    """(prompt, completion) USD per 1,000 tokens, for a model litellm has no price for (or to override it)."""
    llm_allow_unpriced: bool = False
    """Run a model that has no known price with its cost unknown (journaled and shown as such); without this
    or a price such a model is refused, since a cost of $0 would never trip --max-cost. Local servers
    (loopback api_base, ollama/) are free and need neither."""
    llm_max_tokens: dict[str, int] = field(default_factory=default_llm_max_tokens)
    """Most tokens one answer may have, by request purpose (designer, repair, critic, analyzer,
    success_proposal; 'default' for any other); sent as `max_tokens` with every request. Models that
    reason before answering (o1, o3-mini, ...) get 8192 tokens more, since their hidden reasoning counts."""
    llm_split_samples: bool | None = None
    """Ask for the K samples as K concurrent single-sample requests, each with its own timeout and retries,
    so one slow answer cannot cost the finished ones. The CLI records its choice: on for a local server
    (127.0.0.1, localhost, ::1, ollama/) unless told otherwise. None (configs written before this field):
    decided the same way when the completer is made."""
    samples: int = 4
    """K: reward candidates asked for per iteration. Eureka used 16; 4 fits a 2-core machine."""
    temperature: float = 1.0
    """Sampling temperature; diversity between the K candidates matters more than any single one."""
    repair_attempts: int = 1
    """Rounds in which a candidate that fails extraction or checks is sent back with its errors."""
    iterations: int = 2
    """Design -> train -> analyze rounds of `run`."""
    few_shot: bool = True
    """Show the designer one complete, correct reward for another env of the card's family (Text2Reward
    found examples help weaker models); `--no-example` turns it off. Never the task at hand's card."""
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
    algorithm: str | None = None
    """SB3 algorithm of every candidate, final and resumed training (--algo: PPO, SAC, TD3, A2C, DQN or DDPG,
    as the action space allows); None takes the card's `train.algorithm`. One other than the card's starts
    from SB3's defaults, not the card's hyperparameters, which were tuned for (and are often arguments of
    only) the card's algorithm."""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    """SB3 constructor arguments applied over the card's `train.hyperparameters` (--hyperparams, see
    reward_coder.hyperparams): a `*_kwargs` dict such as policy_kwargs merges key by key with the card's,
    any other key replaces the card's value. Checked against the algorithm's constructor before any LLM call."""
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
    gpus_per_job: float | None = None
    """Share of a GPU each CUDA training job asks a cluster scheduler (Ray) for; None: GPU_SHARE (0.25, four
    candidates per card). The local process pool ignores it: every local worker sees every GPU."""
    max_cost_usd: float | None = None
    """Stop cleanly before LLM spending would pass this; None means no limit."""
    allow_unsandboxed: bool = False
    """Run candidate code without OS isolation when bubblewrap is unavailable (resource limits only)."""
    check_steps: int = 64
    """Steps per env of the random and scripted rollouts whose states the sandboxed check runs on."""
    strict_direction: bool = False
    """Do not train a candidate that prefers the card's known-bad reference states to its good ones (the
    direction check's `direction-reversed`, then an error); by default that is a warning fed back."""
    screen: bool = True
    """Screen each new candidate before it trains (CARD's trajectory preference evaluation, reward_coder.screening):
    its code scores the stored evaluation episodes of earlier iterations in the sandbox, and one whose returns
    rank failed episodes above successful ones is reported to the designer and not trained. `--no-screen`
    still screens and reports, but trains every candidate."""
    screen_threshold: float = 0.5
    """Preference accuracy (the chance a successful earlier episode gets a higher return than a failed one)
    below which a candidate is screened out."""
    mode: str = "reward"
    """'reward': the designer loop writes reward functions. 'latent' (LaRe): the LLM writes latent task
    factors, a verifier merges them, and a decoder trained by return decomposition on the episodic return
    turns them into the reward SAC learns from (reward_coder/latent/)."""
    episode_steps: int | None = None
    """Latent mode: episode length (TimeLimit) for training and evaluation; None takes the card's. Short
    episodes let a tiny budget finish several, which the decoder needs to learn anything."""
    shared_replay: bool = False
    """Off-policy runs (SAC, TD3, DDPG) only: the iteration's candidates train from ONE replay buffer
    (LaRes, reward_coder.train.shared_replay): each env step is taken once, scored by every candidate's
    reward, and each learner does the gradient updates of a separate full run, for about 1/K of the env
    steps of K separate runs. It replaces successive halving for that iteration (every candidate trains to
    the full budget). Ignored, with separate training as usual, for on-policy algorithms, rewards with
    per-episode memory and VecNormalize'd cards."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Read a saved config, ignoring keys of newer versions so old runs stay readable."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("llm_price_per_1k_tokens") is not None:
            values["llm_price_per_1k_tokens"] = tuple(values["llm_price_per_1k_tokens"])
        return cls(**values)

    def with_changes(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)
