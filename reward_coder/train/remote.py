"""Training jobs on Ray nodes that share no file system with the driver.

A job's `out_dir` is a path on the driver. The driver sends the files already there (so training
resumes from its last checkpoint), the node trains into a node-local temp folder of its own, and the
whole folder comes back as one in-memory tar.gz, which the driver unpacks into the real `out_dir`.
While the job runs, the node also pushes a snapshot of the folder to a small actor on the driver's
node each time a new whole checkpoint appears: when a node is lost mid-job, the driver resubmits the
job with its latest snapshot and training resumes from that checkpoint, not from the start.

With a storage location the user names (`--ray-storage`: a folder every node mounts, such as NFS, or an
fsspec URL such as s3://bucket/prefix), the files travel through it instead of through Ray: the driver
writes what it holds of out_dir to `<attempt folder>/in.tar.gz`, the node writes its snapshots to
`snapshot.tar.gz` and the finished folder to `out.tar.gz` there, and the driver reads them back and removes
the folder once the job is done (`Exchange`). Nothing large then passes through Ray's object store.

Ray is imported only inside the functions that need it (this module is imported by the executor only
when `--executor ray` is asked for, and by the tests).
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import tarfile
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from reward_coder.train.checkpoint import CHECKPOINTS, MANIFEST

IN_ARCHIVE, SNAPSHOT_ARCHIVE, OUT_ARCHIVE = "in.tar.gz", "snapshot.tar.gz", "out.tar.gz"

SNAPSHOT_POLL_S = 2.0
"""How often the node looks for a new checkpoint to push to the driver: checkpoints come every
`eval_every` steps (tens of seconds at least), so a few seconds' delay loses nothing."""


def has_out_dir(job: Any) -> bool:
    """True for a dataclass job with a string `out_dir` (TrainJob): only those move files around."""
    return dataclasses.is_dataclass(job) and not isinstance(job, type) and isinstance(getattr(job, "out_dir", None), str)


def _skipped(relpath: Path) -> bool:
    # a checkpoint still being written (checkpoint.py's `.tmp-*` folder) is never sent: half of one is worse than none
    parts = relpath.parts
    return len(parts) >= 2 and parts[0] == CHECKPOINTS and parts[1].startswith(".tmp-")


def read_files(root: Path) -> dict[str, bytes]:
    """Every regular file under `root` as relative path -> content ({} when `root` does not exist)."""
    root = Path(root)
    if not root.is_dir():
        return {}
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relpath = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and not _skipped(relpath):
            files[relpath.as_posix()] = path.read_bytes()
    return files


def write_files(files: dict[str, bytes], root: Path) -> None:
    """Write `files` (relative path -> content) under `root`; a path leaving `root` is refused."""
    root = Path(root).resolve()
    for relpath, content in files.items():
        target = (root / relpath).resolve()
        if root not in target.parents:
            raise ValueError(f"refusing to write {relpath!r} outside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def pack(root: Path) -> bytes:
    """The folder `root` as an in-memory tar.gz (checkpoints being written left out)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for relpath, content in read_files(root).items():
            info = tarfile.TarInfo(relpath)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def unpack(archive: bytes, root: Path) -> None:
    """Unpack an archive from `pack` into `root`, mirroring its checkpoints.

    Files are overwritten; a `checkpoints/step-*` folder that the archive no longer has was pruned on
    the node (checkpoint.KEEP), so it is removed here too and the driver's folder looks like the node's.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        names = tar.getnames()
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, filter="data")  # 'data': no absolute paths, no '..', no links out of root
        else:  # Python 3.10 before 3.10.12: the same rule by hand (pack writes regular files only)
            for member in tar.getmembers():
                if not member.isfile():
                    raise ValueError(f"refusing {member.name!r}: not a regular file")
            write_files({m.name: tar.extractfile(m).read() for m in tar.getmembers()}, root)
    kept = {Path(name).parts[1] for name in names if len(Path(name).parts) >= 3 and Path(name).parts[0] == CHECKPOINTS}
    checkpoints = root / CHECKPOINTS
    if checkpoints.is_dir():
        for folder in checkpoints.glob("step-*"):
            if folder.is_dir() and folder.name not in kept:
                shutil.rmtree(folder, ignore_errors=True)


def rebase_paths(value: Any, old: str, new: str) -> Any:
    """`value` with every string that starts with the path `old` made to start with `new` instead.

    A TrainOutcome names its checkpoint by a path inside the node's temp folder; on the driver that
    path must point into the real out_dir. Walks dataclasses, dicts, lists and tuples.
    """
    if isinstance(value, str):
        if value == old or value.startswith(old.rstrip("/") + "/"):
            return new + value[len(old):]
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: rebase_paths(getattr(value, f.name), old, new) for f in dataclasses.fields(value)
                   if f.init}
        changes = {name: v for name, v in changes.items() if v is not getattr(value, name)}
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, dict):
        items = {k: rebase_paths(v, old, new) for k, v in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    if isinstance(value, (list, tuple)):
        items = [rebase_paths(v, old, new) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return type(value)(items) if isinstance(value, list) or type(value) is tuple else type(value)(*items)
    return value


def _whole_checkpoints(out_dir: Path) -> frozenset[str]:
    """Names of the checkpoint folders under out_dir whose manifest is written (written last: whole)."""
    root = out_dir / CHECKPOINTS
    if not root.is_dir():
        return frozenset()
    return frozenset(p.name for p in root.glob("step-*") if (p / MANIFEST).is_file())


class SnapshotStore:
    """Driver-side store of the newest snapshot of each running job (made a Ray actor by the executor).

    Keyed by (job index, attempt); the driver drains what arrived and ignores old attempts.
    """

    def __init__(self) -> None:
        self._fresh: dict[int, tuple[int, bytes]] = {}

    def put(self, index: int, attempt: int, archive: bytes) -> None:
        held = self._fresh.get(index)
        if held is None or held[0] <= attempt:
            self._fresh[index] = (attempt, archive)

    def drain(self) -> dict[int, tuple[int, bytes]]:
        fresh, self._fresh = self._fresh, {}
        return fresh


@dataclass(frozen=True)
class Exchange:
    """One attempt's folder in the user's storage location: what the driver and the node hand each other.

    `url` is a local path or an fsspec URL (s3://..., gs://..., needs that file system's package); it must
    name the same place on the driver and on every node.
    """

    url: str

    def _fs(self):
        import fsspec

        return fsspec.core.url_to_fs(self.url)

    def write(self, name: str, content: bytes) -> None:
        """Write `name` whole: to a temp name first, then moved over (a reader never sees half of it)."""
        fs, root = self._fs()
        fs.makedirs(root, exist_ok=True)
        target, temp = f"{root}/{name}", f"{root}/.{name}.{uuid.uuid4().hex[:8]}.tmp"
        with fs.open(temp, "wb") as handle:
            handle.write(content)
        fs.mv(temp, target)

    def read(self, name: str) -> bytes | None:
        """The content of `name`, None when it is not there."""
        fs, root = self._fs()
        try:
            with fs.open(f"{root}/{name}", "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def version(self, name: str) -> str | None:
        """Something that changes whenever `name` is rewritten (size and modification time or ETag); None if absent."""
        fs, root = self._fs()
        try:
            info = fs.info(f"{root}/{name}")
        except FileNotFoundError:
            return None
        stamp = info.get("mtime", info.get("LastModified", info.get("ETag", info.get("created"))))
        return f"{info.get('size')}:{stamp}"

    def remove(self) -> None:
        fs, root = self._fs()
        try:
            fs.rm(root, recursive=True)
        except FileNotFoundError:
            pass


def check_storage(url: str) -> str:
    """`url` (the user's --ray-storage) made absolute if it is a local path, after writing and removing a
    probe file there; OSError/ValueError/ImportError with the reason when that fails."""
    if "://" not in url:
        url = str(Path(url).expanduser().resolve())
    probe = Exchange(f"{url.rstrip('/')}/.probe-{uuid.uuid4().hex[:8]}")
    probe.write("probe", b"reward-coder")
    if probe.read("probe") != b"reward-coder":
        raise OSError(f"what was written to {url} did not read back")
    probe.remove()
    return url


class _CheckpointWatcher:
    """Thread on the node: push a snapshot of out_dir whenever a new whole checkpoint appears."""

    def __init__(self, out_dir: Path, push: Callable[[bytes], None], poll_s: float) -> None:
        self._out_dir = out_dir
        self._push = push
        self._poll_s = poll_s
        self._seen = _whole_checkpoints(out_dir)  # the ones it was sent with are no news
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoint-snapshots", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            self.check()

    def check(self) -> None:
        now = _whole_checkpoints(self._out_dir)
        if now - self._seen:
            self._seen = now
            try:
                self._push(pack(self._out_dir))
            except (OSError, tarfile.TarError):
                pass  # a checkpoint pruned mid-pack: the next poll sends a whole one

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_remote(fn: Callable[[Any], Any], job: Any, files_in: dict[str, bytes], snapshots: Any = None,
               index: int = 0, attempt: int = 0, poll_s: float = SNAPSHOT_POLL_S,
               exchange: Exchange | None = None) -> tuple[Any, bytes | None, str]:
    """On the node: train `job` in a node-local copy of its out_dir; return (result, archive, temp out_dir).

    `files_in` is what the driver holds of out_dir. `snapshots` (a SnapshotStore actor handle, or None)
    receives a snapshot after every new checkpoint. With an `exchange` (the user's storage location) the
    files come from its in.tar.gz, snapshots go to its snapshot.tar.gz, the finished folder to its
    out.tar.gz, and the archive returned is None. The result's paths still point into the temp out_dir
    (returned third) and are rebased by the driver, which knows the real one.
    """
    scratch = Path(tempfile.mkdtemp(prefix="reward-coder-job-"))
    try:
        out_dir = scratch / (Path(job.out_dir).name or "out")
        out_dir.mkdir()
        if exchange is not None:
            sent = exchange.read(IN_ARCHIVE)
            if sent is not None:
                unpack(sent, out_dir)
        write_files(files_in, out_dir)
        watcher = None
        if exchange is not None:
            watcher = _CheckpointWatcher(out_dir, lambda archive: exchange.write(SNAPSHOT_ARCHIVE, archive), poll_s)
        elif snapshots is not None:
            import ray

            # synchronous put: a snapshot is in the store before the result it precedes is
            watcher = _CheckpointWatcher(out_dir, lambda archive: ray.get(snapshots.put.remote(index, attempt, archive)),
                                         poll_s)
        if watcher is not None:
            watcher.start()
        try:
            result = fn(dataclasses.replace(job, out_dir=str(out_dir)))
        finally:
            if watcher is not None:
                watcher.stop()
        if exchange is not None:
            exchange.write(OUT_ARCHIVE, pack(out_dir))
            return result, None, str(out_dir)
        return result, pack(out_dir), str(out_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
