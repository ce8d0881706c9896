"""The winner's rollout video: one episode, rendered off screen, written as a small mp4.

Rendering runs in a child process (`python -m reward_coder.report.video REQUEST.json`) because a GL
backend is chosen once per process and a broken one can abort it: MuJoCo tries EGL first and, if
that fails, OSMesa in a fresh child; classic-control envs draw with pygame's dummy video driver. When
every try fails the report shows the reason instead of a video.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MAX_FRAMES = 200
DEFAULT_SIZE = 256
"""Longest side of a frame in pixels: big enough to see a gait, small enough for ~100-400 KB per video."""
CHILD_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class VideoResult:
    mp4: bytes | None
    poster_png: bytes | None
    """First frame, shown before the video plays (and where the browser cannot play h264)."""
    error: str
    """Why there is no video ('' when there is one)."""
    frames: int = 0
    length: int = 0
    native_return: float = 0.0
    fps: float = 0.0
    backend: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.mp4 is not None


def _gl_backends() -> list[str | None]:
    """MUJOCO_GL as the user set it, else EGL (GPU or Mesa) then OSMesa (CPU only)."""
    chosen = os.environ.get("MUJOCO_GL")
    return [chosen] if chosen else ["egl", "osmesa"]


def record_video(card_id: str, algorithm: str, model_path: Path, *, seed: int = 0,
                 max_frames: int = DEFAULT_MAX_FRAMES, size: int = DEFAULT_SIZE,
                 timeout_s: float = CHILD_TIMEOUT_S) -> VideoResult:
    """Roll out the checkpoint once in a child process per GL backend until one renders."""
    started = time.monotonic()
    if not Path(model_path).is_file():
        return VideoResult(None, None, f"no checkpoint at {model_path} (was the winner's training folder removed?)")
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rc-video-") as scratch:
        request = {"card": card_id, "algorithm": algorithm, "model": str(model_path), "seed": seed,
                   "max_frames": max_frames, "size": size, "mp4": str(Path(scratch) / "rollout.mp4"),
                   "poster": str(Path(scratch) / "poster.png")}
        request_path = Path(scratch) / "request.json"
        request_path.write_text(json.dumps(request))
        for backend in _gl_backends():
            env = dict(os.environ, SDL_VIDEODRIVER=os.environ.get("SDL_VIDEODRIVER", "dummy"),
                       SDL_AUDIODRIVER=os.environ.get("SDL_AUDIODRIVER", "dummy"),
                       PYGAME_HIDE_SUPPORT_PROMPT="1")
            if backend:
                env["MUJOCO_GL"] = backend
                env["PYOPENGL_PLATFORM"] = backend
            reply = _run_child(request_path, env, timeout_s)
            if reply.get("ok"):
                return VideoResult(
                    mp4=Path(request["mp4"]).read_bytes(), poster_png=Path(request["poster"]).read_bytes(),
                    error="", frames=int(reply["frames"]), length=int(reply["length"]),
                    native_return=float(reply["native_return"]), fps=float(reply["fps"]),
                    backend=str(reply.get("renderer") or backend or ""), seconds=time.monotonic() - started,
                )
            errors.append(f"{backend}: {reply.get('error')}" if backend and reply.get("uses_gl") else str(reply.get("error")))
            if not reply.get("uses_gl"):
                break  # not a GL problem (no pygame, a bad checkpoint): another backend will not help
    return VideoResult(None, None, "rendering failed: " + " | ".join(errors), seconds=time.monotonic() - started)


def _run_child(request_path: Path, env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    try:
        done = subprocess.run([sys.executable, "-m", "reward_coder.report.video", str(request_path)], env=env,
                              capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"the rollout took over {timeout_s:.0f} s", "uses_gl": True}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    tail = " ".join(done.stderr.strip().splitlines()[-2:])[-300:]
    return {"ok": False, "error": f"renderer exited with code {done.returncode}: {tail or 'no message'}", "uses_gl": True}


def encode_mp4(frames: list[Any], path: str, fps: float) -> None:
    """H.264 mp4 (yuv420p, even sides) via imageio-ffmpeg: plays in every browser."""
    import imageio.v2 as imageio

    height, width = frames[0].shape[:2]
    height, width = height - height % 2, width - width % 2
    with imageio.get_writer(path, fps=max(fps, 1.0), codec="libx264", quality=6, macro_block_size=2,
                            pixelformat="yuv420p", ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(frame[:height, :width])


def shrink(frame: Any, size: int) -> Any:
    """Average-pool a frame by an integer factor until its longest side is at most `size`."""
    import numpy as np

    factor = max(1, -(-max(frame.shape[:2]) // size))
    if factor == 1:
        return frame
    height, width = (frame.shape[0] // factor) * factor, (frame.shape[1] // factor) * factor
    cropped = frame[:height, :width]
    # sum of strided views: a reshape-and-mean over 200 frames of 500x500 costs seconds, this ~0.1 s
    total = np.zeros((height // factor, width // factor) + frame.shape[2:], dtype=np.uint32)
    for row in range(factor):
        for column in range(factor):
            total += cropped[row::factor, column::factor]
    return (total // (factor * factor)).astype(np.uint8)


def _child(request_path: str) -> dict[str, Any]:
    """In the child: load the policy, roll out, encode. Returns the reply printed as one JSON line."""
    import imageio.v2 as imageio

    request = json.loads(Path(request_path).read_text())
    try:
        from reward_coder.envs import get_card
        from reward_coder.train.rollout import load_policy, record_rollout

        card = get_card(request["card"])
        policy = load_policy(request["algorithm"], request["model"])
        rollout = record_rollout(card, policy, seed=int(request["seed"]), max_frames=int(request["max_frames"]),
                                 size=int(request["size"]))
        frames = [shrink(f, int(request["size"])) for f in rollout.frames]
        if not frames:
            raise RuntimeError("the env rendered no frames")
        fps = rollout.render_fps / rollout.stride
        encode_mp4(frames, request["mp4"], fps)
        imageio.imwrite(request["poster"], frames[min(len(frames) - 1, len(frames) // 2)])
    except Exception as err:  # noqa: BLE001 - any failure becomes the sentence the report shows
        return {"ok": False, "error": f"{type(err).__name__}: {' '.join(str(err).split())[:300]}",
                "uses_gl": "mujoco" in sys.modules}
    renderer = (f"MuJoCo ({os.environ.get('MUJOCO_GL', 'default GL')})" if "mujoco" in sys.modules
                else "pygame" if "pygame" in sys.modules else "")
    return {"ok": True, "frames": len(frames), "length": rollout.length, "native_return": rollout.native_return,
            "fps": fps, "renderer": renderer}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1])), flush=True)
