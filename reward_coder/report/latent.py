"""The latent-mode section of a run's report: factors with what the decoder learned, its loss curve,
the policy's learning curve, and what became of every factor sample (reads runs/<id>/latent/ only)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from reward_coder.report.plots import curves_figure, png_data_uri


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def decoder_loss_figure(curve: dict[str, list] | None) -> str | None:
    """The decoder's RRD loss against the policy's env steps (log scale), None without points."""
    if not curve or not curve.get("loss"):
        return None
    steps = curve.get("env_steps") or curve.get("updates")
    loss = [v if v is not None and math.isfinite(v) and v > 0 else math.nan for v in curve["loss"]]
    figure = Figure(figsize=(4.6, 2.6))
    axis = figure.subplots()
    axis.plot(steps, loss, marker="o", markersize=3, color="#9467bd")
    axis.set_yscale("log")
    axis.set_title("decoder loss (return decomposition)", fontsize=10)
    axis.set_xlabel("policy env steps", fontsize=9)
    axis.set_ylabel("loss / return scale²", fontsize=9)
    axis.tick_params(labelsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return png_data_uri(figure)


def latent_view(root: str | Path) -> dict[str, Any] | None:
    """What the report's latent section shows, or None when the run is not a latent-mode run."""
    folder = Path(root) / "latent"
    summary = _read(folder / "summary.json")
    design = _read(folder / "design.json")
    if summary is None and design is None:
        return None
    summary = summary or {}
    design = design or summary.get("design") or {}
    attributions = summary.get("attributions") or {}
    shares, weights = attributions.get("shares") or {}, attributions.get("weights") or {}
    factors = [{"name": f["name"], "meaning": f["meaning"], "share": shares.get(f["name"]),
                "weight": weights.get(f["name"])} for f in design.get("factors", [])]
    factors.sort(key=lambda f: -(f["share"] or 0.0))
    samples = list(design.get("samples", []))
    if design.get("verified"):
        samples.append(design["verified"])
    outcome = summary.get("outcome") or {}
    curve = outcome.get("curve") or []
    return {
        "status": summary.get("status", "design only"), "note": design.get("note", ""),
        "chosen": design.get("chosen"), "factors": factors, "episodes": attributions.get("episodes"),
        "samples": [{"id": s["id"], "status": s["status"], "problems": s.get("problems", [])} for s in samples],
        "decoder_figure": decoder_loss_figure(summary.get("decoder_curve")),
        "curve_figure": curves_figure({"latent (SAC on decoded reward)": curve}, width=8.4) if curve else None,
        "eval": outcome.get("eval") or {}, "timesteps": outcome.get("timesteps"), "failure": summary.get("failure", ""),
    }
