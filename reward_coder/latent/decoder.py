"""The reward decoder of latent mode: a small MLP from latent task factors to a per-step reward.

It is trained by randomized return decomposition (RRD, Ren et al. 2022; LaRe, Qu et al. 2025): the
only ground truth is each stored episode's return R, and for a random subset I of K of its T steps the
decoded rewards, summed and scaled by T / K, must match R:

    loss = mean over sampled episodes of (R - T / K * sum_{t in I} r_hat(z_t)) ** 2

The scaled sum is an unbiased estimate of the episode's whole decoded return, so the loss is the
least-squares return decomposition plus the variance of that estimate (which shrinks as K grows);
sampling sub-sequences makes each update cost K steps per episode instead of T, for any horizon.

The same decoder, fed the raw state instead of LLM factors, is the RRD baseline; `uniform_rewards`
is IRCR's uniform redistribution (each step gets R / T).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class DecoderConfig:
    """How the decoder is built and trained. Defaults follow the scale of RRD/LaRe's MuJoCo runs."""

    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths. Factors are few and already meaningful, so a small net is enough; () is linear."""
    learning_rate: float = 1e-3
    """Adam's step size; the loss is normalized by the return scale, so one value fits most tasks."""
    subsequence: int = 64
    """K, steps sampled per episode for one loss term. Larger K: less variance, more compute per update."""
    episodes_per_batch: int = 32
    """Episodes in one gradient step (sampled with replacement from the stored ones)."""
    weight_decay: float = 0.0
    """L2 penalty of Adam; 0 because the variance term already regularizes toward smooth rewards."""
    max_episodes: int = 2_000
    """Stored episodes kept (the oldest dropped first): the decoder follows the policy's recent data."""
    seed: int = 0


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu' (the decoder profits from one: train.sb3.choose_device);
    anything else as given ('cpu', 'cuda:1'; 'cuda' with no GPU visible is a ConfigError)."""
    from reward_coder.train.sb3 import choose_device

    return choose_device(device, "MlpPolicy", "decoder")[0]


class EpisodeStore:
    """Finished episodes of factor rows with their episodic return: what the decoder learns from.

    Each episode is a (T, n_factors) float32 array and one return. Rows are kept on the host; a batch is
    moved to the decoder's device when it is sampled.
    """

    def __init__(self, n_factors: int, max_episodes: int = 2_000) -> None:
        self.n_factors = int(n_factors)
        self.max_episodes = int(max_episodes)
        self.factors: list[np.ndarray] = []
        self.returns: list[float] = []

    def __len__(self) -> int:
        return len(self.factors)

    def add(self, factors: np.ndarray, episode_return: float) -> None:
        """Store one finished episode: its factor rows in step order and its (delayed) return."""
        rows = np.asarray(factors, dtype=np.float32).reshape(-1, self.n_factors)
        if rows.shape[0] == 0:
            raise ValueError("an episode needs at least one step")
        if not np.isfinite(rows).all() or not math.isfinite(float(episode_return)):
            raise ValueError("episode factors and return must be finite")
        self.factors.append(rows)
        self.returns.append(float(episode_return))
        if len(self.factors) > self.max_episodes:
            del self.factors[0], self.returns[0]

    def all_rows(self) -> np.ndarray:
        return np.concatenate(self.factors) if self.factors else np.zeros((0, self.n_factors), np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"n_factors": self.n_factors, "max_episodes": self.max_episodes,
                "factors": list(self.factors), "returns": list(self.returns)}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> "EpisodeStore":
        store = cls(state["n_factors"], state["max_episodes"])
        store.factors = [np.asarray(f, dtype=np.float32) for f in state["factors"]]
        store.returns = [float(r) for r in state["returns"]]
        return store


@dataclass
class LossCurve:
    """The decoder's training loss over its updates (one point per `fit` call), for the report."""

    updates: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    """Mean RRD loss of the fit, in units of the squared return scale (1.0 = as bad as predicting 0)."""
    env_steps: list[int] = field(default_factory=list)
    """Policy env steps at the fit (0 when the decoder is trained offline)."""

    def to_dict(self) -> dict[str, list]:
        return asdict(self)


class RewardDecoder:
    """Factors -> per-step reward, trained by randomized return decomposition on an EpisodeStore.

    Factors are standardized with statistics taken from the stored rows at each fit (LLM factors come
    in any units), and the target returns are divided by their scale, so the learning rate fits any task.
    """

    def __init__(self, n_factors: int, config: DecoderConfig = DecoderConfig(), device: str = "auto",
                 factor_names: Sequence[str] = ()) -> None:
        import torch

        self.config = config
        self.n_factors = int(n_factors)
        self.factor_names = tuple(factor_names) or tuple(f"f{i}" for i in range(n_factors))
        if len(self.factor_names) != self.n_factors:
            raise ValueError(f"{len(self.factor_names)} factor names for {n_factors} factors")
        self.device = torch.device(resolve_device(device))
        self._generator = np.random.default_rng(config.seed)
        torch.manual_seed(config.seed)
        layers: list[Any] = []
        width = self.n_factors
        for hidden in config.hidden:
            layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
            width = hidden
        layers.append(torch.nn.Linear(width, 1))
        self.net = torch.nn.Sequential(*layers).to(self.device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=config.learning_rate,
                                          weight_decay=config.weight_decay)
        self.mean = np.zeros(self.n_factors, np.float32)
        self.std = np.ones(self.n_factors, np.float32)
        self.return_scale = 1.0
        """Typical |return| per step of the stored episodes; the net predicts reward / return_scale."""
        self.updates = 0
        self.curve = LossCurve()

    # ---- prediction -----------------------------------------------------------------------------

    def _standardize(self, factors: np.ndarray):
        import torch

        rows = (np.asarray(factors, dtype=np.float32) - self.mean) / self.std
        return torch.as_tensor(rows, device=self.device)

    def predict(self, factors: np.ndarray) -> np.ndarray:
        """Per-step rewards, shape (batch,), for factor rows of shape (batch, n_factors)."""
        import torch

        rows = np.asarray(factors, dtype=np.float32).reshape(-1, self.n_factors)
        with torch.no_grad():
            out = self.net(self._standardize(rows)).squeeze(-1)
        return out.cpu().numpy().astype(np.float64) * self.return_scale

    # ---- training -------------------------------------------------------------------------------

    def _refresh_statistics(self, store: EpisodeStore) -> None:
        rows = store.all_rows()
        self.mean = rows.mean(axis=0).astype(np.float32)
        self.std = np.maximum(rows.std(axis=0), 1e-6).astype(np.float32)
        lengths = np.array([len(f) for f in store.factors], dtype=np.float64)
        per_step = np.abs(np.asarray(store.returns)) / lengths
        self.return_scale = float(max(np.mean(per_step), 1e-6))

    def _sample(self, store: EpisodeStore):
        """One RRD batch: K sampled rows per episode, the scale T / K, and each episode's return."""
        import torch

        k_max = self.config.subsequence
        picks = self._generator.integers(0, len(store), size=self.config.episodes_per_batch)
        rows, weights, targets = [], [], []
        for index in picks:
            episode = store.factors[index]
            length = episode.shape[0]
            k = min(k_max, length)
            chosen = self._generator.choice(length, size=k, replace=False)
            # padded to K rows with zero weight, so every episode fits one (batch, K, n) tensor
            padded = np.zeros((k_max, self.n_factors), np.float32)
            padded[:k] = (episode[chosen] - self.mean) / self.std
            weight = np.zeros(k_max, np.float32)
            weight[:k] = length / k
            rows.append(padded)
            weights.append(weight)
            targets.append(store.returns[index] / self.return_scale)
        as_tensor = lambda value: torch.as_tensor(np.asarray(value, np.float32), device=self.device)  # noqa: E731
        return as_tensor(rows), as_tensor(weights), as_tensor(targets)

    def fit(self, store: EpisodeStore, updates: int, env_steps: int = 0) -> float:
        """Take `updates` gradient steps of the RRD loss on the stored episodes; returns their mean loss.

        The loss is divided by the squared mean episode length, so it reads as a per-step error in units
        of the return scale; the curve gets one point per call.
        """
        if len(store) == 0 or updates <= 0:
            return float("nan")
        self._refresh_statistics(store)
        mean_length = float(np.mean([len(f) for f in store.factors]))
        losses = []
        for _ in range(updates):
            rows, weights, targets = self._sample(store)
            predicted = self.net(rows).squeeze(-1)  # (batch, K)
            estimate = (predicted * weights).sum(dim=1)
            loss = ((targets - estimate) ** 2).mean() / (mean_length ** 2)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            losses.append(float(loss.detach().cpu()))
        self.updates += updates
        mean_loss = float(np.mean(losses))
        self.curve.updates.append(self.updates)
        self.curve.loss.append(mean_loss)
        self.curve.env_steps.append(int(env_steps))
        return mean_loss

    # ---- what the decoder learned -----------------------------------------------------------------

    def attributions(self, factors: np.ndarray) -> dict[str, float]:
        """Each factor's share of the decoded reward's variation over `factors` rows (shares sum to 1).

        Gradient x (input - mean), averaged in absolute value over the rows: for a linear decoder this
        is |w_i| * mean|z_i - mean_i|, the factor's own contribution; for the MLP its local analogue.
        """
        import torch

        rows = np.asarray(factors, dtype=np.float32).reshape(-1, self.n_factors)
        if rows.shape[0] == 0:
            return {name: 0.0 for name in self.factor_names}
        inputs = self._standardize(rows).requires_grad_(True)
        self.net(inputs).sum().backward()
        grads = inputs.grad.detach().cpu().numpy()
        self.net.zero_grad()
        centred = (rows - rows.mean(axis=0)) / self.std
        contribution = np.abs(grads * centred).mean(axis=0)
        total = float(contribution.sum())
        shares = contribution / total if total > 0 else contribution
        return {name: float(share) for name, share in zip(self.factor_names, shares)}

    def linear_weights(self, factors: np.ndarray) -> dict[str, float]:
        """Signed mean gradient of the reward with respect to each factor (in reward units per factor unit):
        the direction in which a factor moves the decoded reward."""
        import torch

        rows = np.asarray(factors, dtype=np.float32).reshape(-1, self.n_factors)
        if rows.shape[0] == 0:
            return {name: 0.0 for name in self.factor_names}
        inputs = self._standardize(rows).requires_grad_(True)
        self.net(inputs).sum().backward()
        grads = inputs.grad.detach().cpu().numpy().mean(axis=0)
        self.net.zero_grad()
        per_unit = grads / self.std * self.return_scale
        return {name: float(w) for name, w in zip(self.factor_names, per_unit)}

    # ---- checkpoints ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a continuation needs: weights, optimizer, statistics, RNG, loss curve (a deep copy:
        torch hands out its live tensors, which later updates would change under a saved state)."""
        import copy

        return copy.deepcopy({
            "config": asdict(self.config), "n_factors": self.n_factors, "factor_names": list(self.factor_names),
            "net": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "optimizer": self.optimizer.state_dict(), "mean": self.mean, "std": self.std,
            "return_scale": self.return_scale, "updates": self.updates, "curve": self.curve.to_dict(),
            "rng": self._generator.bit_generator.state,
        })

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import copy

        state = copy.deepcopy(state)
        if int(state["n_factors"]) != self.n_factors:
            raise ValueError(f"checkpoint has {state['n_factors']} factors, the decoder {self.n_factors}")
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.mean = np.asarray(state["mean"], np.float32)
        self.std = np.asarray(state["std"], np.float32)
        self.return_scale = float(state["return_scale"])
        self.updates = int(state["updates"])
        self.curve = LossCurve(**state["curve"])
        self._generator.bit_generator.state = state["rng"]

    @classmethod
    def from_state_dict(cls, state: dict[str, Any], device: str = "auto") -> "RewardDecoder":
        config = dict(state["config"])
        config["hidden"] = tuple(config["hidden"])
        decoder = cls(int(state["n_factors"]), DecoderConfig(**config), device=device,
                      factor_names=state["factor_names"])
        decoder.load_state_dict(state)
        return decoder


def uniform_rewards(episode_return: float, length: int) -> np.ndarray:
    """IRCR-style uniform redistribution: every step of the episode gets R / T."""
    return np.full(int(length), float(episode_return) / max(int(length), 1))
