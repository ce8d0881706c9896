"""The HTML report of a run: task and env card, every candidate with code, diffs, checks, critic,
learning curves and reward terms, the analyzer's text and human feedback, the winner's video, LLM cost.

    from reward_coder.report import build_report
    report = build_report("runs/<id>")            # reads the run folder only
    Path("report.html").write_text(report.html)

Reading (build.py), figures (plots.py), video (video.py) and HTML (render.py) are separate so each
can be tested alone; this module only puts them together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reward_coder.report.build import RunView, is_run_folder, read_run

__all__ = ["Report", "RunView", "build_report", "is_run_folder", "read_run"]

MAX_INLINE_VIDEO_BYTES = 4 * 1024 * 1024
"""Above this the mp4 is written next to the page instead of inlined (base64 adds a third)."""


@dataclass(frozen=True)
class Report:
    html: str
    seconds: float
    """Time taken to build it, video included."""
    video_note: str
    """'' with a video, else why there is none (shown in the page too)."""
    attachments: dict[str, bytes] = field(default_factory=dict)
    """Files to write next to the page (file name -> content): a video too big to inline."""
    candidates: tuple[str, ...] = ()


def _figures(run: RunView) -> dict[str, Any]:
    from reward_coder.report import plots

    figures: dict[str, Any] = {"iterations": {}, "candidates": {}}
    for iteration in run.iterations:
        curves = {c.id: c.curve for c in iteration.candidates if c.curve and not c.same_as}
        figures["iterations"][iteration.index] = plots.curves_figure(curves, highlight=iteration.best_candidate)
        for candidate in iteration.candidates:
            own: dict[str, str] = {}
            if candidate.curve and not candidate.same_as:
                own["curve"] = plots.curves_figure({candidate.id: candidate.curve}, width=6.6) or ""
            terms = plots.terms_figure({"check (sampled states)": candidate.check_term_stats,
                                        "training": candidate.train_term_stats,
                                        "evaluation": candidate.eval_term_stats})
            if terms:
                own["terms"] = terms
            figures["candidates"][candidate.id] = {k: v for k, v in own.items() if v}
    return figures


def _winner_checkpoint(run: RunView) -> Path | None:
    if not run.best:
        return None
    iteration, cid = run.best.get("iteration"), run.best.get("candidate")
    folder = run.root / "iterations" / str(iteration) / "training"
    for view in run.all_candidates:
        if view.id == cid and view.same_as:
            cid = view.same_as
    from reward_coder.train.checkpoint import latest_checkpoint

    checkpoint, _ = latest_checkpoint(folder / str(cid))
    return checkpoint.path("model.zip") if checkpoint is not None else folder / str(cid) / "model.zip"


def _video(run: RunView, enabled: bool, video_name: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    from reward_coder.report.render import data_uri

    if not enabled:
        return {"src": None, "error": "skipped (--no-video)"}, {}
    if not run.best:
        return {"src": None, "error": "no winner yet"}, {}
    checkpoint = _winner_checkpoint(run)
    card_id = str(run.task.get("env") or run.config.get("env") or "")
    try:
        from reward_coder.envs import get_card

        card = get_card(card_id)
    except Exception as err:  # noqa: BLE001 - an unknown or broken card only costs the video
        return {"src": None, "error": f"env card '{card_id}' could not be loaded: {err}"}, {}
    from reward_coder.report.video import record_video

    algorithm = run.config.get("algorithm") or card.train.algorithm  # the run's --algo, when it had one
    result = record_video(card.id, algorithm, checkpoint, seed=int(run.config.get("seed", 0)))
    if not result.ok:
        return {"src": None, "error": result.error}, {}
    assert result.mp4 is not None
    inline = len(result.mp4) <= MAX_INLINE_VIDEO_BYTES
    width = 320
    info = {
        "src": data_uri(result.mp4, "video/mp4") if inline else video_name,
        "poster": data_uri(result.poster_png, "image/png") if result.poster_png else None,
        "external": not inline, "error": "", "frames": result.frames, "fps": result.fps,
        "length": result.length, "native_return": result.native_return, "backend": result.backend,
        "size": len(result.mp4), "seed": int(run.config.get("seed", 0)), "width": width,
    }
    return info, ({} if inline else {video_name: result.mp4})


def _normalized_best(run: RunView) -> RunView:
    """best.json with the keys the template reads, whatever version of the loop wrote it."""
    from dataclasses import replace

    if not run.best:
        return run
    best = {"candidate": "?", "iteration": 0, "success_rate": None, **run.best}
    best["eval"] = dict(best.get("eval") or {})
    return replace(run, best=best)


def build_report(run_dir: str | Path, *, video: bool = True, video_name: str = "report-video.mp4") -> Report:
    """Read the run folder and render the report. Raises ConfigError if `run_dir` is not a run.

    `video_name` is the file the mp4 is written to, next to the page, when it is too big to inline.
    """
    from reward_coder.report.render import render_html

    started = time.monotonic()
    run = _normalized_best(read_run(run_dir))
    figures = _figures(run)
    video_info, attachments = _video(run, video, video_name)
    from reward_coder.report.latent import latent_view

    html = render_html(run=run, figures=figures, video=video_info, generated=time.time(),
                       latent=latent_view(run.root))
    return Report(html=html, seconds=time.monotonic() - started, video_note=video_info.get("error") or "",
                  attachments=attachments, candidates=tuple(c.id for c in run.all_candidates))
