"""Checkpoints that are whole or detectably broken: written to a temp folder, hashed, renamed into place.

A checkpoint is a folder `checkpoints/step-<timesteps>/` holding the model (`model.zip`), the
normalization statistics (`vecnormalize.pkl`), an off-policy replay buffer (`replay_buffer.pkl`),
the RNG streams (`rng.pkl`) and, written last, `manifest.json` with every file's SHA-256. A crash
mid-write leaves only a `.tmp-*` folder, which is ignored and cleaned up; a file changed or lost
afterwards fails its hash, and loading falls back to the newest checkpoint that is still whole.

Writing here rather than through RunStore is the exception to "only store.py writes" that store.py's
docstring states and explains.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHECKPOINTS = "checkpoints"
MANIFEST = "manifest.json"
KEEP = 2
"""Checkpoints kept per candidate: the newest, and one to fall back to if the newest is found broken."""


@dataclass(frozen=True)
class Checkpoint:
    folder: Path
    timesteps: int
    files: dict[str, str]
    """File name -> SHA-256 of its content."""
    extra: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.folder / name

    def has(self, name: str) -> bool:
        return name in self.files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(out_dir: Path, timesteps: int, writers: Mapping[str, Callable[[Path], None]],
                    extra: Mapping[str, Any] | None = None, keep: int = KEEP) -> Checkpoint:
    """Write every file with its writer into a temp folder, hash them, then rename the folder into place.

    `writers` maps a file name to a function that writes that file at the path it is given.
    """
    root = Path(out_dir) / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{timesteps}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, write in writers.items():
            write(tmp / name)
            with open(tmp / name, "rb+") as handle:
                os.fsync(handle.fileno())
        hashes = {name: _sha256(tmp / name) for name in writers}
        manifest = {"timesteps": int(timesteps), "files": hashes, "extra": dict(extra or {})}
        with open(tmp / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        final = root / f"step-{int(timesteps):012d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(root, keep)
    return Checkpoint(final, int(timesteps), hashes, dict(extra or {}))


def _prune(root: Path, keep: int) -> None:
    for stale in root.glob(".tmp-*"):
        if not stale.name.endswith(f"-{os.getpid()}"):
            shutil.rmtree(stale, ignore_errors=True)
    whole = [c for c in (_read(folder)[0] for folder in _step_folders(root)) if c is not None]
    for old in whole[keep:]:
        shutil.rmtree(old.folder, ignore_errors=True)


def _step_folders(root: Path) -> list[Path]:
    """step-* folders, newest first."""
    return sorted((p for p in root.glob("step-*") if p.is_dir()), key=lambda p: p.name, reverse=True)


def _read(folder: Path) -> tuple[Checkpoint | None, str]:
    """The checkpoint in `folder`, or None and why it is not whole."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = {str(k): str(v) for k, v in manifest["files"].items()}
        timesteps = int(manifest["timesteps"])
    except FileNotFoundError:
        return None, f"{folder.name} has no manifest (its write never finished)"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        return None, f"{folder.name} has an unreadable manifest ({type(err).__name__})"
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            return None, f"{folder.name} lacks {name}"
        if _sha256(path) != expected:
            return None, f"{folder.name}: {name} does not match its hash (torn or changed)"
    return Checkpoint(folder, timesteps, files, dict(manifest.get("extra", {}))), ""


def latest_checkpoint(out_dir: Path) -> tuple[Checkpoint | None, tuple[str, ...]]:
    """The newest whole checkpoint of a candidate, and a note for each newer one that was broken."""
    root = Path(out_dir) / CHECKPOINTS
    problems: list[str] = []
    for folder in _step_folders(root):
        checkpoint, problem = _read(folder)
        if checkpoint is not None:
            return checkpoint, tuple(problems)
        problems.append(problem)
    return None, tuple(problems)
