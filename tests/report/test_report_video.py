"""The video helper's pieces that need no training: frame shrinking, GL fallback, failures as sentences."""

import numpy as np

from reward_coder.report import video


def test_shrink_pools_to_the_size_limit():
    frame = np.zeros((500, 500, 3), dtype=np.uint8)
    frame[:250] = 200
    small = video.shrink(frame, 256)
    assert small.shape == (250, 250, 3) and small.dtype == np.uint8
    assert small[0, 0, 0] == 200 and small[-1, 0, 0] == 0
    assert video.shrink(frame[:200, :200], 256).shape == (200, 200, 3)  # already small: untouched


def test_mp4_encoding_makes_even_sides(tmp_path):
    import imageio_ffmpeg

    frames = [np.full((101, 75, 3), i * 10, dtype=np.uint8) for i in range(12)]
    path = tmp_path / "x.mp4"
    video.encode_mp4(frames, str(path), fps=12)
    assert path.read_bytes()[4:8] == b"ftyp"
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 12


def test_a_gl_failure_tries_the_next_backend(monkeypatch, tmp_path):
    checkpoint = tmp_path / "model.zip"
    checkpoint.write_bytes(b"zip")
    tried = []

    def fake_child(request_path, env, timeout_s):
        tried.append(env["MUJOCO_GL"])
        return {"ok": False, "error": f"{env['MUJOCO_GL']} context failed", "uses_gl": True}

    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.setattr(video, "_run_child", fake_child)
    result = video.record_video("halfcheetah", "PPO", checkpoint)
    assert tried == ["egl", "osmesa"]
    assert not result.ok and "egl: egl context failed" in result.error and "osmesa: osmesa context failed" in result.error


def test_a_failure_that_is_not_about_gl_is_not_retried(monkeypatch, tmp_path):
    checkpoint = tmp_path / "model.zip"
    checkpoint.write_bytes(b"zip")
    tried = []

    def fake_child(request_path, env, timeout_s):
        tried.append(env.get("MUJOCO_GL"))
        return {"ok": False, "error": "DependencyNotInstalled: pygame is not installed", "uses_gl": False}

    monkeypatch.setenv("MUJOCO_GL", "osmesa")  # a user's choice is respected
    monkeypatch.setattr(video, "_run_child", fake_child)
    result = video.record_video("pendulum", "PPO", checkpoint)
    assert tried == ["osmesa"] and result.error == "rendering failed: DependencyNotInstalled: pygame is not installed"


def test_a_broken_checkpoint_is_reported_by_the_child(tmp_path):
    checkpoint = tmp_path / "model.zip"
    checkpoint.write_bytes(b"not a zip file")
    result = video.record_video("pendulum", "PPO", checkpoint, timeout_s=120)
    assert not result.ok and result.error.startswith("rendering failed:")
    assert "Traceback" not in result.error and len(result.error) < 500
