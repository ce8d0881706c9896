"""TensorBoard scalars a reward designer wants next to SB3's own, and a progress file for live displays.

SB3 writes its losses and `rollout/ep_rew_mean` under `training/<id>/tb/`; VecMonitor sits above
the reward wrapper, so ep_rew_mean is the return of the reward being trained (before VecNormalize).
So that no one has to know that, both returns are also logged under names of their own, with how
the reward splits into terms and how the policy did on the task's success metric:

  rollout/candidate_return_mean  mean episode return of the reward being trained (last `window` episodes)
  rollout/native_return_mean     mean episode return of the env's own reward (same episodes)
  reward_terms/<term>            mean episode sum of each reward term (same episodes)
  eval/success_rate, eval/candidate_return, eval/native_return, eval/metric, eval/progress,
  eval/episode_length            after each evaluation (deterministic policy, unnormalized rewards)

Hooked into train_candidate with `callback=trainer_callbacks(out_dir)` on `model.learn(...)`, and
`log_evaluation(model, point)` after each evaluation.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

PROGRESS_FILE = "progress.json"
"""Written next to curve.json: {"timesteps": N, "time": unix seconds}; read by the live progress display."""


class RewardTermsCallback(BaseCallback):
    """Logs both returns and per-term means of finished episodes at the end of each rollout.

    Reads VecMonitor's `info["episode"]["r"]` (the return of the reward being trained) and
    `info["episode_terms"]` / `info["episode_native_return"]`, which RewardVecWrapper adds when an
    episode ends; with no wrapper (the env's own reward) both returns are the monitor's.
    """

    def __init__(self, window: int = 100) -> None:
        """`window`: episodes averaged, as SB3's own ep_rew_mean (stats_window_size=100)."""
        super().__init__()
        self._terms: deque[dict[str, float]] = deque(maxlen=window)
        self._native: deque[float] = deque(maxlen=window)
        self._candidate: deque[float] = deque(maxlen=window)

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            episode = info.get("episode")
            if episode is None:
                continue
            self._candidate.append(float(episode["r"]))
            terms = info.get("episode_terms")
            if terms is not None:
                self._terms.append(dict(terms))
            native = info.get("episode_native_return")
            self._native.append(float(episode["r"] if native is None else native))
        return True

    def _on_rollout_end(self) -> None:
        for name, value in mean_terms(self._terms).items():
            self.logger.record(f"reward_terms/{name}", value)
        if self._candidate:
            self.logger.record("rollout/candidate_return_mean", float(np.mean(self._candidate)))
            self.logger.record("rollout/native_return_mean", float(np.mean(self._native)))


class ProgressFileCallback(BaseCallback):
    """Writes the model's step count to a small JSON file at most every `every_s` seconds.

    The parent process polls it to draw a progress bar per candidate while the worker trains; the
    write is atomic (temp file + rename) so a reader never sees half a file.
    """

    def __init__(self, path: str | Path, every_s: float = 1.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.every_s = every_s
        self._last = 0.0

    def _on_training_start(self) -> None:
        self._write()

    def _on_step(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._write()
        return True

    def _on_training_end(self) -> None:
        self._write()

    def _write(self) -> None:
        self._last = time.monotonic()
        write_progress(self.path, int(self.num_timesteps))


def mean_terms(episodes: Any) -> dict[str, float]:
    """Mean of each term over the episodes that have it (terms may differ between candidates, not episodes)."""
    sums: dict[str, list[float]] = {}
    for episode in episodes:
        for name, value in episode.items():
            sums.setdefault(name, []).append(float(value))
    return {name: float(np.mean(values)) for name, values in sums.items()}


def write_progress(path: Path, timesteps: int) -> None:
    """Atomically write {"timesteps", "time"}; a full disk must not stop training, so OSError is ignored
    (and the temp file removed: a failed write leaves the last whole progress file, nothing else)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps({"timesteps": timesteps, "time": time.time()}))
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def quiet_tensorboard_write_failures() -> None:
    """Keep a failed TensorBoard write (disk full, folder gone) from printing a thread traceback.

    SB3's TensorBoard output writes through tensorboard's EventFileWriter, whose background
    `_AsyncWriterThread` re-raises the OSError it hits, so `threading.excepthook` prints ~85 lines on
    stderr, from a training worker, before anything else reports the problem. The writer also keeps the
    exception and raises it in the training thread at its next write or flush, so the candidate still
    ends as a `crashed` outcome with the message (house rule 2); this hook only stops the duplicate
    print. Other threads and other exceptions reach the previous hook unchanged. Idempotent.
    """
    import threading

    try:
        from tensorboard.summary.writer.event_file_writer import _AsyncWriterThread
    except ImportError:  # no tensorboard: SB3 writes no event files, nothing to quiet
        return
    previous = threading.excepthook
    if getattr(previous, "quiets_tensorboard", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if isinstance(args.thread, _AsyncWriterThread) and isinstance(args.exc_value, OSError):
            return
        previous(args)

    hook.quiets_tensorboard = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def trainer_callbacks(out_dir: str | Path) -> CallbackList:
    """The callbacks train_candidate passes to `model.learn`: reward terms to TensorBoard, progress file."""
    return CallbackList([RewardTermsCallback(), ProgressFileCallback(Path(out_dir) / PROGRESS_FILE)])


def log_evaluation(model: Any, point: Any) -> None:
    """Record one evaluation (a CurvePoint) in the model's logger at its step, and write it out now.

    Evaluations run between `learn` calls, where SB3 would not dump again until the next rollout;
    dumping here puts each point at its own step.
    """
    model.logger.record("eval/success_rate", float(point.success_rate))
    model.logger.record("eval/native_return", float(point.native_return))
    if getattr(point, "candidate_return", None) is not None:
        model.logger.record("eval/candidate_return", float(point.candidate_return))
    if getattr(point, "progress", None) is not None:
        model.logger.record("eval/progress", float(point.progress))
    model.logger.record("eval/metric", float(point.metric))
    model.logger.record("eval/episode_length", float(point.length))
    model.logger.dump(step=int(point.timesteps))
