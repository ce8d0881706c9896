"""The report of a real (tiny) demo run, opened from disk in headless Chromium.

Proves the whole chain: loop -> run folder -> report (plots, diffs, video) -> a page that loads with
no network and no errors. The screenshot is kept at test-artifacts/report-screenshot.png.
"""

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "test-artifacts" / "report-screenshot.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium on PATH (.ci/run installs Debian's chromium)")


def run_chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=90, check=False)


def console_messages(stderr: str) -> list[str]:
    """Lines Chromium logs for the page's console (JS errors, failed loads): the page should cause none."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "net::ERR" in line]


def test_demo_report_loads_in_chromium_with_every_candidate_and_plots(demo_run, demo_report, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(demo_report.html, encoding="utf-8")
    for name, payload in demo_report.attachments.items():
        (tmp_path / name).write_bytes(payload)

    html = demo_report.html
    assert not re.search(r'(?:src|href|poster)\s*=\s*["\']?\s*(?:https?:)?//', html, re.I), "the page must not load from the network"
    assert "<script" not in html.lower()

    dom = run_chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "</html>" in dom.stdout
    assert not console_messages(dom.stderr), console_messages(dom.stderr)
    candidates = sorted(p.stem for p in demo_run.glob("iterations/*/candidates/*.py"))
    assert candidates and set(candidates) <= set(demo_report.candidates)
    for cid in demo_report.candidates:
        assert f'id="cand-{cid}"' in dom.stdout, cid
    assert re.search(r'<img[^>]+src="data:image/png;base64,', dom.stdout)

    if importlib.util.find_spec("pygame") is not None:
        assert demo_report.video_note == ""
        assert 'src="data:video/mp4;base64,' in dom.stdout
    else:  # Pendulum draws with pygame: without it the page says why instead of showing a video
        assert "pygame" in demo_report.video_note and "No rollout video" in dom.stdout

    shot = tmp_path / "screenshot.png"
    taken = run_chromium(page, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,2000")
    assert taken.returncode == 0 and shot.is_file(), taken.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)


def test_demo_report_video_is_a_playable_mp4(demo_report, tmp_path):
    if demo_report.video_note:
        pytest.skip(f"no video on this machine: {demo_report.video_note}")
    import base64

    import imageio_ffmpeg

    match = re.search(r'src="data:video/mp4;base64,([A-Za-z0-9+/=]+)"', demo_report.html)
    assert match
    video = tmp_path / "winner.mp4"
    video.write_bytes(base64.b64decode(match.group(1)))
    assert video.read_bytes()[4:8] == b"ftyp" and 5_000 < video.stat().st_size < 4 * 1024 * 1024
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(video))
    assert 10 <= frames <= 200 and seconds > 1


def test_demo_report_size_and_speed(demo_report):
    """A two-iteration demo stays small enough to mail around and quick enough to rebuild."""
    assert len(demo_report.html.encode()) < 3 * 1024 * 1024
    assert demo_report.seconds < 60
