"""RayExecutor on a real local multi-node cluster that shares no folder with the driver (issue 12, item 1).

The test starts a head node and a worker node (separate temp folders, RAY_AUTH_MODE=disabled), each in
a process group of its own, so that "losing a node" is a SIGKILL of exactly that group. Jobs are
forced onto the worker node by a custom resource; the driver's out_dir is a folder the job never sees
(it trains in a node-local temp folder). Timings are printed (`pytest -s`) and kept in TIMINGS.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")

pytestmark = pytest.mark.timeout(240)

RAY = str(Path(sys.executable).with_name("ray"))
CANARY = "sk-canary-ray-77e1"
TIMINGS: dict[str, float] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _node_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        # a killed node is declared dead in ~2 s instead of ~30 s
        "RAY_health_check_initial_delay_ms": "500",
        "RAY_health_check_period_ms": "500",
        "RAY_health_check_timeout_ms": "500",
        "RAY_health_check_failure_threshold": "3",
        # the worst case for credentials: nodes started from a shell that holds the key
        "OPENAI_API_KEY": CANARY,
    })
    return env


class Node:
    """One `ray start` node in a process group of its own, with its own temp folder."""

    def __init__(self, args: list[str], temp_dir: Path) -> None:
        self.temp_dir = temp_dir
        temp_dir.mkdir(parents=True, exist_ok=True)
        ports = ["--dashboard-agent-listen-port", str(_free_port()), "--metrics-export-port", str(_free_port()),
                 "--runtime-env-agent-port", str(_free_port())]
        command = [RAY, "start", *args, "--num-cpus=1", f"--temp-dir={temp_dir}", "--disable-usage-stats", *ports]
        process = subprocess.run(command, env=_node_env(), capture_output=True, text=True, timeout=90,
                                 start_new_session=True)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{process.stdout}\n{process.stderr}")
        # `ray start` exits once its daemons run; they keep the session (= process group) it made
        self.pgid = self._find_pgid()

    def _find_pgid(self) -> int:
        for proc in Path("/proc").iterdir():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if "raylet/raylet" in cmdline and str(self.temp_dir) in cmdline:
                    return os.getpgid(int(proc.name))
            except (OSError, ValueError):
                continue  # not a process, or one that just ended
        raise RuntimeError(f"no raylet found for {self.temp_dir}")

    def kill(self) -> None:
        """Lose the node the hard way: every process of it gets SIGKILL at once."""
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # short paths: Ray's unix sockets live under the temp folder and must stay under 108 characters
    root = Path(tempfile.mkdtemp(prefix="rc-ray-"))
    port = _free_port()
    nodes: list[Node] = []
    started = time.monotonic()
    try:
        nodes.append(Node(["--head", f"--port={port}", "--include-dashboard=false", f"--dashboard-port={_free_port()}",
                           f"--ray-client-server-port={_free_port()}"], root / "head"))
        nodes.append(Node([f"--address=127.0.0.1:{port}", '--resources={"worker_node": 1}'], root / "worker-1"))
        TIMINGS["cluster start (head + worker node)"] = time.monotonic() - started

        def add_worker(name: str) -> Node:
            node = Node([f"--address=127.0.0.1:{port}", '--resources={"worker_node": 1}'], root / name)
            nodes.append(node)
            return node

        yield {"address": f"127.0.0.1:{port}", "nodes": nodes, "add_worker": add_worker}
    finally:
        if ray.is_initialized():
            ray.shutdown()
        # not `ray stop --force`: it would stop every Ray on this machine, other people's too
        for node in reversed(nodes):
            node.kill()
        shutil.rmtree(root, ignore_errors=True)
        print("\nRay cluster timings: " + ", ".join(f"{name} {s:.1f} s" for name, s in TIMINGS.items()))


@pytest.fixture(scope="module")
def executor(cluster):
    from reward_coder.train.executor import RayExecutor

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the nodes cannot import this test file
    os.environ["OPENAI_API_KEY"] = CANARY  # the driver has a key (for its LLM); its jobs must not see it
    try:
        executor = RayExecutor(address=cluster["address"], snapshot_poll_s=0.5)
        yield executor
        executor.close()
    finally:
        os.environ.pop("OPENAI_API_KEY", None)
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def stored_executor(executor, tmp_path_factory):
    """An executor whose files travel through a storage location every node mounts (here: a folder of this
    machine, which the test's nodes all see, as an NFS mount would be), not through Ray."""
    from reward_coder.train.executor import RayExecutor

    storage = tmp_path_factory.mktemp("ray-storage")
    stored = RayExecutor(snapshot_poll_s=0.5, storage=str(storage))  # joins the cluster `executor` connected to
    yield stored
    stored.close()
    assert list(storage.iterdir()) == []  # close() removes the executor's folder


@dataclass(frozen=True)
class FakeJob:
    """The parts of a TrainJob that the executor looks at."""

    candidate_id: str
    out_dir: str
    sleep_after_checkpoint_s: float = 0.0
    resources_cpus: float = 0.5
    resources_custom: dict = field(default_factory=lambda: {"worker_node": 1})


def _write_checkpoint(out_dir: Path, step: int, content: str) -> Path:
    folder = out_dir / "checkpoints" / f"step-{step:012d}"
    folder.mkdir(parents=True)
    (folder / "model.zip").write_text(content)
    (folder / "manifest.json").write_text(json.dumps({"timesteps": step, "files": {}}))
    return folder


def fake_train(job: FakeJob) -> dict:
    """Train like sb3.train does, in miniature: resume from the newest checkpoint, write curve, tb, checkpoints."""
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    found = sorted((out_dir / "checkpoints").glob("step-*"))
    resumed_from = (found[-1] / "model.zip").read_text() if found else None
    step = 20 if found else 10
    checkpoint = _write_checkpoint(out_dir, step, f"weights of {job.candidate_id} at {step} on {os.getpid()}")
    (out_dir / "tb").mkdir(exist_ok=True)
    (out_dir / "tb" / "events.out").write_bytes(b"\x00\x01tensorboard")
    (out_dir / "curve.json").write_text(json.dumps([{"timesteps": step}]))
    if not found and job.sleep_after_checkpoint_s:
        time.sleep(job.sleep_after_checkpoint_s)  # the node is killed in here
    return {"checkpoint": str(checkpoint), "trained_under": str(out_dir.parent), "resumed_from": resumed_from,
            "node_id": ray.get_runtime_context().get_node_id(), "key": os.environ.get("OPENAI_API_KEY")}


def test_files_come_back_to_a_driver_folder_the_node_never_sees(executor, tmp_path):
    out_dir = tmp_path / "run" / "candidates" / "c0"
    started = time.monotonic()
    [(index, outcome)] = list(executor.map_unordered(fake_train, [FakeJob("c0", str(out_dir))]))
    TIMINGS["job round trip"] = time.monotonic() - started

    assert index == 0
    head = ray.get_runtime_context().get_node_id()
    assert outcome["node_id"] != head  # it ran on the worker node
    assert not outcome["trained_under"].startswith(str(tmp_path))  # in a node-local folder, not the driver's
    assert outcome["checkpoint"] == str(out_dir / "checkpoints" / "step-000000000010")  # rebased to the driver
    assert (Path(outcome["checkpoint"]) / "model.zip").read_text().startswith("weights of c0 at 10")
    assert (out_dir / "tb" / "events.out").read_bytes() == b"\x00\x01tensorboard"
    assert json.loads((out_dir / "curve.json").read_text()) == [{"timesteps": 10}]
    assert outcome["key"] == ""  # the driver's key (and the node's) never reached the job


def test_with_a_storage_location_the_files_travel_through_it_and_it_is_emptied_after(stored_executor, tmp_path):
    out_dir = tmp_path / "run" / "candidates" / "c3"
    results: list = []
    driver = threading.Thread(target=lambda: results.extend(
        stored_executor.map_unordered(fake_train, [FakeJob("c3", str(out_dir), 3.0)])), daemon=True)
    started = time.monotonic()
    driver.start()
    folder = Path(stored_executor.storage) / "job-0" / "attempt-0"
    deadline = time.monotonic() + 60
    while not (folder / "snapshot.tar.gz").exists() and time.monotonic() < deadline and driver.is_alive():
        time.sleep(0.1)
    assert (folder / "snapshot.tar.gz").exists(), "the running job's snapshot never reached the storage location"
    assert (folder / "in.tar.gz").exists() and not (folder / "out.tar.gz").exists()
    driver.join(timeout=60)
    TIMINGS["job round trip through storage"] = time.monotonic() - started
    [(index, outcome)] = results
    assert outcome["checkpoint"] == str(out_dir / "checkpoints" / "step-000000000010")  # rebased to the driver
    assert (out_dir / "checkpoints" / "step-000000000010" / "model.zip").read_text().startswith("weights of c3")
    assert (out_dir / "tb" / "events.out").read_bytes() == b"\x00\x01tensorboard"
    assert not (Path(stored_executor.storage) / "job-0").exists()  # the job's folder is removed once it is back


@pytest.mark.parametrize("through", ["ray", "storage"])
def test_a_job_on_a_killed_node_is_retried_from_its_last_checkpoint(through, cluster, tmp_path, request):
    """Flaky-prone by nature (it kills a node and waits for Ray to notice); generous timeouts below."""
    executor = request.getfixturevalue("executor" if through == "ray" else "stored_executor")
    out_dir = tmp_path / "run" / "candidates" / "c1"
    results: list = []
    errors: list = []

    def drive() -> None:
        try:
            results.extend(executor.map_unordered(fake_train, [FakeJob("c1", str(out_dir), 120.0)]))
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            errors.append(err)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    first_checkpoint = out_dir / "checkpoints" / "step-000000000010" / "model.zip"
    deadline = time.monotonic() + 60
    while not first_checkpoint.exists() and time.monotonic() < deadline and not errors:
        time.sleep(0.2)  # the snapshot reaches the driver while the job still runs
    assert not errors, errors
    assert first_checkpoint.exists(), "no checkpoint snapshot reached the driver while the job ran"
    first_weights = first_checkpoint.read_text()

    killed = time.monotonic()
    lost = cluster["nodes"][-1]  # the one worker node alive
    lost.kill()
    cluster["add_worker"](f"worker-{len(cluster['nodes'])}")
    driver.join(timeout=90)
    TIMINGS[f"node kill + new node + retry ({through})"] = time.monotonic() - killed
    assert not driver.is_alive(), "the job was not retried on the new node"
    assert not errors, errors

    [(index, outcome)] = results
    assert index == 0
    assert outcome["resumed_from"] == first_weights  # the second attempt started from the first's checkpoint
    assert outcome["checkpoint"] == str(out_dir / "checkpoints" / "step-000000000020")
    assert (out_dir / "checkpoints" / "step-000000000020" / "model.zip").exists()


UP = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n    return next_state.cos_theta, {}\n"
DOWN = "import numpy as np\n\ndef compute_reward(state, action, next_state):\n    return -next_state.cos_theta, {}\n"


def _shared_job(folder: Path):
    """Two tiny SAC candidates on one replay buffer, pinned to the worker nodes (the ones the test kills)."""
    from reward_coder.envs import get_card
    from reward_coder.train.sb3 import TrainJob
    from reward_coder.train.shared_replay import SharedJob

    @dataclass(frozen=True)
    class OnAWorker(SharedJob):
        resources_custom: dict = field(default_factory=lambda: {"worker_node": 1})

    card = get_card("pendulum")
    jobs = tuple(TrainJob(candidate_id=cid, card=card, success=card.task("swing-up").success,
                          out_dir=str(folder / "training" / cid), code=code, algorithm="SAC", total_timesteps=120,
                          n_envs=2, seed=1, device="cpu", eval_episodes=1, eval_every=40, max_episode_steps=20,
                          hyperparameters={"learning_starts": 20, "batch_size": 16, "buffer_size": 1_000},
                          tensorboard=False) for cid, code in (("a", UP), ("b", DOWN)))
    return OnAWorker(jobs, str(folder / "training"))


def shared_train_stalling_on_the_first_try(shared) -> list:
    """train_shared, but a first attempt (nothing to resume) stalls after its evaluation at 80 steps, by
    which time the checkpoint of the evaluation at 40 is written: the node is killed in there."""
    from reward_coder.train.checkpoint import latest_checkpoint
    from reward_coder.train.shared_replay import train_shared

    first = latest_checkpoint(Path(shared.out_dir))[0] is None

    def stall(_cid, point) -> None:
        if first and point.timesteps >= 80:
            time.sleep(120)

    return train_shared(shared, on_progress=stall)


def test_a_shared_replay_job_on_a_killed_node_resumes_its_whole_shared_run(executor, cluster, tmp_path):
    from reward_coder.train.shared_replay import gradient_updates, train_shared

    reference = train_shared(_shared_job(tmp_path / "whole"))  # here, never cut
    shared = _shared_job(tmp_path / "cut")
    results: list = []
    errors: list = []

    def drive() -> None:
        try:
            results.extend(executor.map_unordered(shared_train_stalling_on_the_first_try, [shared]))
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            errors.append(err)

    driver = threading.Thread(target=drive, daemon=True)
    started = time.monotonic()
    driver.start()
    manifest = Path(shared.out_dir) / "checkpoints" / "step-000000000040" / "manifest.json"
    deadline = time.monotonic() + 90
    while not manifest.exists() and time.monotonic() < deadline and not errors:
        time.sleep(0.2)
    assert not errors, errors
    assert manifest.exists(), "the shared run's checkpoint never reached the driver while it ran"
    killed = time.monotonic()
    cluster["nodes"][-1].kill()
    cluster["add_worker"](f"worker-{len(cluster['nodes'])}")
    driver.join(timeout=120)
    TIMINGS["shared replay job: start to checkpoint"] = killed - started
    TIMINGS["shared replay job: node kill + new node + resumed run"] = time.monotonic() - killed
    assert not driver.is_alive() and not errors, errors

    [(index, outcomes)] = results
    for before, after in zip(reference, outcomes):
        assert after.status == "ok" and after.timesteps == 120, after
        assert any("continued from step-000000000040" in note for note in after.notes)
        assert [p.timesteps for p in after.curve] == [40, 80, 120]
        assert gradient_updates(after) == gradient_updates(before)  # as many updates as the run never cut
        assert after.checkpoint is None or after.checkpoint.startswith(str(tmp_path / "cut"))
    assert (tmp_path / "cut" / "training" / "a" / "curve.json").exists()


def failing_train(job: FakeJob) -> dict:
    raise ValueError(f"reward of {job.candidate_id} is broken")


def test_the_jobs_own_exception_reaches_the_driver_once_not_retried(executor, tmp_path):
    # the job's own error is raised as itself (not retried, not turned into a lost job)
    with pytest.raises(ValueError, match="reward of c2 is broken"):
        list(executor.map_unordered(failing_train, [FakeJob("c2", str(tmp_path / "c2"))]))


# --- the pieces, without a cluster (fast) -------------------------------------------------------------


def test_unpack_mirrors_the_nodes_checkpoints_and_never_sends_a_half_written_one(tmp_path):
    from reward_coder.train import remote

    node, driver = tmp_path / "node", tmp_path / "driver"
    _write_checkpoint(driver, 10, "old")  # pruned on the node since (checkpoint.KEEP)
    _write_checkpoint(node, 30, "new")
    (node / "checkpoints" / ".tmp-40-123").mkdir()
    (node / "checkpoints" / ".tmp-40-123" / "model.zip").write_text("half")
    (node / "curve.json").write_text("[]")
    remote.unpack(remote.pack(node), driver)
    assert sorted(p.name for p in (driver / "checkpoints").iterdir()) == ["step-000000000030"]
    assert (driver / "curve.json").read_text() == "[]"


def test_a_node_trains_from_the_storage_location_and_leaves_its_files_there(tmp_path):
    from reward_coder.train import remote

    exchange = remote.Exchange(str(tmp_path / "storage" / "job-0" / "attempt-1"))
    sent = tmp_path / "driver"
    _write_checkpoint(sent, 10, "sent weights")
    exchange.write(remote.IN_ARCHIVE, remote.pack(sent))

    def train(job):
        assert (Path(job.out_dir) / "checkpoints" / "step-000000000010" / "model.zip").read_text() == "sent weights"
        _write_checkpoint(Path(job.out_dir), 20, "new weights")
        time.sleep(0.3)  # the watcher (polling every 0.05 s) pushes the new checkpoint meanwhile
        return {"checkpoint": str(Path(job.out_dir) / "checkpoints" / "step-000000000020")}

    result, archive, node_out_dir = remote.run_remote(train, FakeJob("c0", str(sent)), {}, poll_s=0.05,
                                                      exchange=exchange)
    assert archive is None and result["checkpoint"].startswith(node_out_dir)  # nothing returned through Ray
    back = tmp_path / "back"
    remote.unpack(exchange.read(remote.OUT_ARCHIVE), back)
    assert (back / "checkpoints" / "step-000000000020" / "model.zip").read_text() == "new weights"
    snapshot = tmp_path / "snapshot"
    remote.unpack(exchange.read(remote.SNAPSHOT_ARCHIVE), snapshot)
    assert (snapshot / "checkpoints" / "step-000000000020" / "model.zip").read_text() == "new weights"
    assert sorted(p.name for p in Path(exchange.url).iterdir()) == ["in.tar.gz", "out.tar.gz", "snapshot.tar.gz"]
    assert exchange.version("nothing.tar.gz") is None and exchange.read("nothing.tar.gz") is None


def test_a_storage_location_that_cannot_be_written_or_is_not_shared_is_a_clear_error(tmp_path):
    from reward_coder.errors import ConfigError
    from reward_coder.train.executor import RayExecutor, make_executor

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="--ray-storage .*a-file/sub: cannot write there"):
        make_executor("ray", storage=str(blocker / "sub"))  # refused before connecting to any cluster
    with pytest.raises(ConfigError, match="needs s3fs"):
        make_executor("ray", storage="s3://reward-coder-test-bucket/runs")
    executor = object.__new__(RayExecutor)
    executor.storage, executor._seen_snapshots = str(tmp_path / "storage" / "reward-coder-x"), {}
    with pytest.raises(ConfigError, match="must be one every node and the driver share"):
        executor._files_back(0, 0, None)  # the node wrote out.tar.gz to a disk of its own


def test_files_are_never_written_outside_the_out_dir(tmp_path):
    from reward_coder.train import remote

    with pytest.raises(ValueError, match="outside"):
        remote.write_files({"../escaped.txt": b"x"}, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_train_outcome_names_the_drivers_checkpoint_not_the_nodes():
    from reward_coder.outcomes import TrainOutcome
    from reward_coder.train import remote

    outcome = TrainOutcome("c0", "ok", 10, checkpoint="/tmp/node-x/c0/checkpoints/step-000000000010",
                           eval={"video": "/tmp/node-x/c0/eval.mp4", "success_rate": 1.0}, notes=("/tmp/node-x/c0b",))
    rebased = remote.rebase_paths(outcome, "/tmp/node-x/c0", "/runs/r1/c0")
    assert rebased.checkpoint == "/runs/r1/c0/checkpoints/step-000000000010"
    assert rebased.eval == {"video": "/runs/r1/c0/eval.mp4", "success_rate": 1.0}
    assert rebased.notes == ("/tmp/node-x/c0b",)  # only paths inside the folder, not look-alikes


def test_node_losses_are_retried_and_the_jobs_own_exceptions_are_not():
    from ray import exceptions

    from reward_coder.train.executor import is_node_loss

    assert is_node_loss(exceptions.NodeDiedError("node gone"))
    assert is_node_loss(exceptions.WorkerCrashedError())
    assert is_node_loss(exceptions.ObjectLostError("00" * 28, "owner", "call site"))
    assert is_node_loss(exceptions.RayTaskError("fake_train", "traceback", exceptions.WorkerCrashedError()))
    assert not is_node_loss(ValueError("the reward raised"))
    assert not is_node_loss(exceptions.RayTaskError("fake_train", "traceback", ValueError("the reward raised")))
    assert not is_node_loss(exceptions.TaskCancelledError())


def test_each_job_asks_for_the_cpus_gpus_and_resources_it_declares(monkeypatch):
    from reward_coder.train.executor import RayExecutor

    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    executor = object.__new__(RayExecutor)  # no cluster needed to read a job's declaration
    executor.gpus_per_job = None
    options = executor._options(FakeJob("c0", "/x"))
    assert (options["num_cpus"], options["num_gpus"], options["resources"]) == (0.5, 0.0, {"worker_node": 1})
    assert options["max_retries"] == 0  # the executor retries, from the newest checkpoint
    assert options["runtime_env"]["env_vars"]["OPENAI_API_KEY"] == ""

    @dataclass(frozen=True)
    class SharesAGpu:
        out_dir: str = "/x"
        resources_gpus: float = 0.25

    assert executor._options(SharesAGpu())["num_gpus"] == 0.25
    assert executor._options(object())["num_cpus"] == 1.0  # a job that declares nothing: one CPU
    executor.gpus_per_job = 0.5
    assert executor._options(SharesAGpu())["num_gpus"] == 0.5  # the user's override wins


class _FlakyRay:
    """Stands in for the `ray` module: every task's node is lost `losses` times, then the task runs."""

    def __init__(self, losses: int) -> None:
        self.losses = losses
        self.submitted = 0

    def remote(self, fn):
        fake = self

        class Task:
            def options(self, **_options):
                return self

            def remote(self, *args):
                fake.submitted += 1
                return (fn, args)

        return Task()

    def wait(self, refs, num_returns, timeout):
        return refs[:num_returns], refs[num_returns:]

    def get(self, ref):
        if self.losses > 0:
            self.losses -= 1
            raise ray.exceptions.NodeDiedError("node 1 died")
        fn, args = ref
        return fn(*args)

    def cancel(self, ref, force):
        pass


def _double(job: int) -> int:
    return 2 * job


def _executor_on(fake_ray: _FlakyRay):
    from reward_coder.train.executor import RayExecutor

    executor = object.__new__(RayExecutor)
    executor._ray, executor.gpus_per_job, executor.max_retries = fake_ray, None, 2
    executor.snapshot_poll_s, executor._snapshots, executor._tasks = 0.0, None, {}
    executor.storage, executor._seen_snapshots = None, {}
    return executor


def test_a_lost_node_is_retried_up_to_max_retries_then_the_job_is_a_lost_value():
    from reward_coder.train.executor import JobLost

    recovering = _FlakyRay(losses=2)
    assert list(_executor_on(recovering).map_unordered(_double, [21])) == [(0, 42)]
    assert recovering.submitted == 3

    lost = _FlakyRay(losses=3)
    [(index, value)] = list(_executor_on(lost).map_unordered(_double, [21]))
    assert index == 0 and isinstance(value, JobLost)
    assert "lost its Ray node or worker 3 times; last: NodeDiedError" in value.message
    assert lost.submitted == 3  # the first try and max_retries=2 more, no unbounded retries


def test_a_lost_job_is_a_crashed_candidate_and_halving_goes_on_with_the_others():
    """Two candidates on a cluster whose node under 'a' keeps dying: 'a' is crashed with the loss as its
    failure (never a zero), 'b' trains and wins; nothing raises."""
    from reward_coder.tasks import resolve_task
    from reward_coder.train.halving import HalvingPlan, successive_halving
    from reward_coder.outcomes import TrainOutcome

    task = resolve_task("pendulum/swing-up", None, None)

    class _LosesA(_FlakyRay):
        def get(self, ref):
            fn, args = ref
            if args[1].candidate_id == "a":  # args: (the training function, the job)
                raise ray.exceptions.NodeDiedError("node 1 died")
            return fn(*args)

    @dataclass(frozen=True)
    class Job:  # no out_dir: the executor's plain path, no files to carry
        candidate_id: str
        total_timesteps: int = 0
        seed: int = 0

    def fake_train(job):
        return TrainOutcome(job.candidate_id, "ok", job.total_timesteps, seed=job.seed,
                            eval={"success_rate": 1.0, "metric_mean": 1.0})

    jobs = [Job("a"), Job("b")]
    latest, pruned = successive_halving(jobs, _executor_on(_LosesA(losses=0)), HalvingPlan((2_000, 4_000), 2),
                                        task.success, train=fake_train)
    assert latest["a"].status == "crashed" and "lost its Ray node or worker 3 times" in latest["a"].failure
    assert latest["b"].status == "ok" and latest["b"].timesteps == 4_000 and "a" not in pruned
