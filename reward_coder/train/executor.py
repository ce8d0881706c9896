"""Where training jobs run: this process, a local process pool (default), or a Ray cluster.

The loop only sees `Executor.map_unordered`, so nothing in it knows which one runs the jobs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence


class Executor(Protocol):
    name: str
    workers: int

    def map_unordered(self, fn: Callable[[Any], Any], jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Run fn(job) for every job; yield (index, result) as each finishes.

        A job the executor could not finish through no fault of its own (a Ray node lost more often than
        it retries) yields a JobLost value instead of a result; `outcome_of(job, value)` turns it into a
        crashed TrainOutcome. An exception raised by fn itself propagates."""
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


@dataclass(frozen=True)
class JobLost:
    """What an executor yields for a job whose node (or worker) was lost more often than it retries.

    A value, not an exception: the other jobs of the batch go on, and the caller records this one as
    crashed (`as_outcome`), never as a zero.
    """

    message: str

    def as_outcome(self, job: Any) -> Any:
        """The TrainOutcome of a lost TrainJob: status 'crashed', the loss as its failure."""
        from reward_coder.outcomes import TrainOutcome

        return TrainOutcome(candidate_id=job.candidate_id, status="crashed", timesteps=0, failure=self.message,
                            seed=getattr(job, "seed", None), notes=("training job lost with its node",))


def outcome_of(job: Any, value: Any) -> Any:
    """An executor's value for `job` as a TrainOutcome: a JobLost becomes a crashed outcome."""
    return value.as_outcome(job) if isinstance(value, JobLost) else value


def is_node_loss(err: BaseException) -> bool:
    """True for a Ray failure of the system running a job (node died, worker crashed, object lost),
    False for an exception raised by the job's own code, which a rerun would only raise again."""
    from ray import exceptions

    if isinstance(err, exceptions.RayTaskError):
        cause = getattr(err, "cause", None)
        return cause is not None and cause is not err and not isinstance(cause, exceptions.RayTaskError) \
            and isinstance(cause, exceptions.RayError) and is_node_loss(cause)
    final = (exceptions.TaskCancelledError, exceptions.GetTimeoutError, exceptions.RuntimeEnvSetupError,
             exceptions.UserCodeException, exceptions.UnserializableException, exceptions.TaskUnschedulableError)
    return isinstance(err, exceptions.RayError) and not isinstance(err, final)


class RayExecutor:
    """The same interface on a Ray cluster (`--executor ray --address ...`); ray is imported only when asked for.

    Each job asks for the CPUs and GPUs it declares (`resources_cpus`, `resources_gpus`, fractions
    allowed, so several candidates share one GPU; default one CPU and no GPU; `gpus_per_job` overrides
    every job's GPU share) and any custom Ray resources in `resources_custom`. Nodes need not share the
    driver's file system: a job with an `out_dir` trains in a node-local copy of it (see remote.py), its
    files (checkpoints, curve, TensorBoard) come back into the real out_dir, snapshots while it runs and
    all of it when it ends, and a node lost mid-job means the job is resubmitted from its newest
    checkpoint, up to `max_retries` times, then yields a JobLost value for it. With `storage` (a folder every
    node mounts, or an fsspec URL), those files travel through that location instead of through Ray
    (remote.Exchange), under a folder of this executor's own that close() removes. Workers start without the
    driver's credentials (every variable `secret_variables` names is set empty in their runtime_env).
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 0, gpus_per_job: float | None = None,
                 max_retries: int = 2, snapshot_poll_s: float | None = None, storage: str | None = None) -> None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        import ray

        from reward_coder.train import remote

        self.storage = None
        """This executor's own folder in the user's storage location (None: files travel through Ray)."""
        if storage:
            self.storage = f"{remote.check_storage(storage).rstrip('/')}/reward-coder-{uuid.uuid4().hex[:12]}"
        self._seen_snapshots: dict[int, str | None] = {}

        if not ray.is_initialized():
            # a local cluster started here (no address) would hand the driver's keys to every raylet
            with _spawning_without_secrets():
                ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        self._ray = ray
        self.workers = workers if workers > 0 else int(ray.cluster_resources().get("CPU", 1))
        self.gpus_per_job = gpus_per_job
        """GPU share every job gets, whatever it declares (None: the job's own `resources_gpus`, default 0;
        a job given 0 GPUs has every GPU hidden from it by Ray)."""
        self.max_retries = max_retries
        """Resubmissions of one job after node losses; 2: a second loss in a row is rare, a third means
        something is wrong with the cluster rather than unlucky."""
        self.snapshot_poll_s = remote.SNAPSHOT_POLL_S if snapshot_poll_s is None else snapshot_poll_s
        self._snapshots = None
        self._tasks: dict[str, Any] = {}

    def _snapshot_store(self):
        """The snapshot actor, pinned to the driver's node: it must outlive any worker node."""
        if self._snapshots is None:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            from reward_coder.train.remote import SnapshotStore

            here = self._ray.get_runtime_context().get_node_id()
            self._snapshots = self._ray.remote(num_cpus=0, max_restarts=0)(SnapshotStore).options(
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=here, soft=False)).remote()
        return self._snapshots

    def _options(self, job: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "num_cpus": float(_declared(job, "resources_cpus", 1.0)),
            "num_gpus": float(self.gpus_per_job if self.gpus_per_job is not None
                              else getattr(job, "resources_gpus", 0) or 0),
            # retries are ours: Ray's own would rerun from the files the job was first sent with
            "max_retries": 0,
            "runtime_env": {"env_vars": {name: "" for name in secret_variables()}},
        }
        custom = getattr(job, "resources_custom", None)
        if custom:
            options["resources"] = dict(custom)
        return options

    def _submit(self, fn, job, index: int, attempt: int):
        from reward_coder.train import remote

        carried = remote.has_out_dir(job)
        kind = "carried" if carried else "plain"
        if kind not in self._tasks:  # registered once: each ray.remote(...) exports the function anew
            self._tasks[kind] = self._ray.remote(remote.run_remote if carried else _run_plain)
        task = self._tasks[kind].options(**self._options(job))
        if carried and self.storage is not None:
            exchange = self._exchange(index, attempt)
            exchange.write(remote.IN_ARCHIVE, remote.pack(Path(job.out_dir)))
            return task.remote(fn, job, {}, None, index, attempt, self.snapshot_poll_s, exchange)
        if carried:
            files_in = remote.read_files(Path(job.out_dir))
            return task.remote(fn, job, files_in, self._snapshot_store(), index, attempt, self.snapshot_poll_s)
        return task.remote(fn, job)

    def _exchange(self, index: int, attempt: int):
        from reward_coder.train.remote import Exchange

        return Exchange(f"{self.storage}/job-{index}/attempt-{attempt}")

    def _take_snapshots(self, jobs: Sequence[Any], attempts: dict[int, int]) -> None:
        from reward_coder.train import remote

        if self.storage is not None:
            for index, attempt in attempts.items():
                if not remote.has_out_dir(jobs[index]):
                    continue
                exchange = self._exchange(index, attempt)
                version = exchange.version(remote.SNAPSHOT_ARCHIVE)
                if version is not None and self._seen_snapshots.get(index) != version:
                    archive = exchange.read(remote.SNAPSHOT_ARCHIVE)
                    if archive is not None:
                        remote.unpack(archive, Path(jobs[index].out_dir))
                    self._seen_snapshots[index] = version
            return
        if self._snapshots is None:
            return
        for index, (attempt, archive) in self._ray.get(self._snapshots.drain.remote()).items():
            if attempts.get(index) == attempt:  # a job already done, or an older attempt's, is no news
                remote.unpack(archive, Path(jobs[index].out_dir))

    def _files_back(self, index: int, attempt: int, archive: bytes | None) -> bytes:
        """The finished job's archive: returned through Ray, or read from the storage location (then removed)."""
        if archive is not None:
            return archive
        from reward_coder.train import remote

        exchange = self._exchange(index, attempt)
        archive = exchange.read(remote.OUT_ARCHIVE)
        if archive is None:
            from reward_coder.errors import ConfigError

            raise ConfigError(
                f"job {index} finished but its files are not in --ray-storage {self.storage} as the driver sees it "
                "(job-*/attempt-*/out.tar.gz): the storage location must be one every node and the driver share, "
                "such as an NFS mount or an s3:// URL")
        remote.Exchange(exchange.url.rsplit("/", 1)[0]).remove()  # the job's folder, every attempt's
        self._seen_snapshots.pop(index, None)
        return archive

    def map_unordered(self, fn, jobs):
        from reward_coder.train import remote

        jobs = list(jobs)
        attempts = dict.fromkeys(range(len(jobs)), 0)
        refs = {self._submit(fn, job, index, 0): index for index, job in enumerate(jobs)}
        try:
            while refs:
                done, _ = self._ray.wait(list(refs), num_returns=1, timeout=self.snapshot_poll_s)
                self._take_snapshots(jobs, attempts)
                if not done:
                    continue
                index = refs.pop(done[0])
                job = jobs[index]
                try:
                    value = self._ray.get(done[0])
                except Exception as err:
                    if not is_node_loss(err):
                        raise
                    if attempts[index] >= self.max_retries:
                        lost = JobLost(f"job {index} ({getattr(job, 'candidate_id', job)!r}) lost its Ray node or "
                                       f"worker {attempts.pop(index) + 1} times; last: {type(err).__name__}: {err}")
                        yield index, lost
                        continue
                    attempts[index] += 1
                    refs[self._submit(fn, job, index, attempts[index])] = index
                    continue
                attempt = attempts.pop(index)
                if remote.has_out_dir(job):
                    result, archive, node_out_dir = value
                    remote.unpack(self._files_back(index, attempt, archive), Path(job.out_dir))
                    value = remote.rebase_paths(result, node_out_dir, job.out_dir)
                yield index, value
        finally:
            for ref in refs:
                try:
                    self._ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - a task on a node already gone cannot be cancelled, nor needs to be
                    pass

    def close(self) -> None:
        if self._snapshots is not None:
            self._ray.kill(self._snapshots)
            self._snapshots = None
        if self.storage is not None:
            from reward_coder.train.remote import Exchange

            Exchange(self.storage).remove()


def _declared(job: Any, name: str, default: float) -> float:
    value = getattr(job, name, None)
    return default if value is None else value


def _run_plain(fn: Callable[[Any], Any], job: Any) -> Any:
    """A job without an out_dir (tests, benchmarks): nothing to carry, just run it."""
    return fn(job)


def make_executor(kind: str = "local", workers: int = 0, address: str | None = None,
                  gpus_per_job: float | None = None, storage: str | None = None) -> Executor:
    """The executor named by `--executor`; `address`, `gpus_per_job` and `storage` matter to Ray only."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "inline":
        return InlineExecutor()
    if kind == "ray":
        from reward_coder.errors import ConfigError

        try:
            return RayExecutor(address, workers, gpus_per_job=gpus_per_job, storage=storage)
        except ImportError as err:
            if storage and "ray" not in str(err).lower():
                raise ConfigError(f"--ray-storage {storage}: {err} (an s3:// or gs:// URL needs s3fs or gcsfs)") from None
            raise ConfigError("--executor ray needs the ray extra: pip install 'reward-coder[ray]'") from None
        except (OSError, ValueError) as err:
            if storage:
                raise ConfigError(f"--ray-storage {storage}: cannot write there ({type(err).__name__}: {err})") from None
            raise
    from reward_coder.errors import ConfigError

    raise ConfigError(f"unknown executor '{kind}'; use local, inline or ray")
