"""Where training jobs run: this process, a local process pool (default), or a Ray cluster.

The loop only sees `Executor.map_unordered`, so nothing in it knows which one runs the jobs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence


class Executor(Protocol):
    name: str
    workers: int

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Run fn(job) for every job; yield (index, result) as each finishes."""
        ...

    def close(self) -> None: ...


PARENT_POLL_S = 0.02
"""How often a pool worker looks whether the run's main process still lives (the fallback to PDEATHSIG)."""


def follow_parent(parent_pid: int, pdeathsig: bool = False) -> None:
    """Pool-worker initializer: end this worker the moment the run's main process is gone.

    With `pdeathsig` (the pool was started from the process's main thread, which lives as long as the
    process) the kernel kills the worker as its parent dies: PR_SET_PDEATHSIG fires when the *thread*
    that forked the worker ends, so it is asked for only when that thread is the main one. Always, as a
    fallback (another OS, a pool started from a short-lived thread), a daemon thread watches
    `os.getppid()`, which changes when the worker is re-parented, and exits within PARENT_POLL_S with
    `os._exit` (no cleanup handlers that might write). The sandbox workers a job starts follow it in turn
    (bubblewrap's --die-with-parent).
    """
    if pdeathsig:
        # the kernel SIGKILLs the worker as its parent dies, so no write already in hand (a checkpoint, a
        # curve, a TensorBoard event) finishes after the run was killed
        from reward_coder.sandbox._seccomp import set_parent_death_signal

        set_parent_death_signal(signal.SIGKILL)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(70)

    # checked after prctl: a parent that died before it would otherwise go unnoticed by the kernel
    if os.getppid() != parent_pid:
        os._exit(70)
    threading.Thread(target=watch, name="follow-parent", daemon=True).start()
    # SIGTERM (the run's main process passes its own on, see cli/main.py) ends the job in hand the way
    # Ctrl-C does: its reward worker is closed and its scratch folder removed, then the job reports back
    signal.signal(signal.SIGTERM, _interrupt_job)


def _interrupt_job(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


_SECRET_WORDS = {"KEY", "KEYS", "APIKEY", "TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD",
                 "CREDENTIAL", "CREDENTIALS", "AUTH"}
_environment_lock = threading.Lock()


def secret_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """Names of environment variables that look like credentials (OPENAI_API_KEY, HF_TOKEN,
    AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, ...): a trainer needs none of them."""
    environ = os.environ if environ is None else environ
    return sorted(name for name in environ if _SECRET_WORDS & set(name.upper().replace("-", "_").split("_")))


@contextmanager
def _spawning_without_secrets() -> Iterator[None]:
    """Hide credentials from os.environ while pool workers are spawned (they copy the environment then).

    Workers are started inside `submit` (spawn context, on demand), in this thread, and only for the
    few milliseconds of the call; the loop asks no LLM while it submits training jobs.
    """
    with _environment_lock:
        hidden = {name: os.environ.pop(name) for name in secret_variables()}
        try:
            yield
        finally:
            os.environ.update(hidden)


class InlineExecutor:
    """Runs jobs one after another in this process: for tests and debugging."""

    name = "inline"
    workers = 1

    def map_unordered(self, fn, jobs):
        for index, job in enumerate(jobs):
            yield index, fn(job)

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of worker processes, one candidate per core by default.

    'spawn' workers: a fork of a process that already holds torch threads or a CUDA context is unsafe.
    """

    name = "local"

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers if workers > 0 else max(1, os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # the pool's workers are started by the thread that submits (spawn context: on demand);
            # PDEATHSIG is safe only when that is the main thread (see follow_parent)
            main_thread = threading.current_thread() is threading.main_thread()
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=follow_parent, initargs=(os.getpid(), main_thread))
        return self._pool

    def map_unordered(self, fn, jobs):
        pool = self._ensure_pool()
        with _spawning_without_secrets():  # training processes start with no provider keys
            futures = {pool.submit(fn, job): index for index, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayExecutor:
    """The same interface on Ray (`--executor ray --address ...`); ray is imported only when asked for."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 0) -> None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        import ray

        if not ray.is_initialized():
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self._ray = ray
        self.workers = workers if workers > 0 else int(ray.cluster_resources().get("CPU", 1))

    def map_unordered(self, fn, jobs):
        remote = self._ray.remote(num_cpus=1)(fn)
        refs = {remote.remote(job): index for index, job in enumerate(jobs)}
        pending = list(refs)
        while pending:
            done, pending = self._ray.wait(pending, num_returns=1)
            yield refs[done[0]], self._ray.get(done[0])

    def close(self) -> None:
        pass


def make_executor(kind: str = "local", workers: int = 0, address: str | None = None) -> Executor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "inline":
        return InlineExecutor()
    if kind == "ray":
        from reward_coder.errors import ConfigError

        try:
            return RayExecutor(address, workers)
        except ImportError:
            raise ConfigError("--executor ray needs the ray extra: pip install 'reward-coder[ray]'") from None
    from reward_coder.errors import ConfigError

    raise ConfigError(f"unknown executor '{kind}'; use local, inline or ray")
