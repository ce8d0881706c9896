"""Matplotlib figures of a run, returned as `data:image/png;base64,...` URIs to embed in the HTML.

Uses the object API (Figure + Agg canvas), never pyplot: no global figure state, no display needed.
Figures are small (about 25 KB each) so a report with dozens of candidates stays a few MB.
"""

from __future__ import annotations

import base64
import io
import math
from typing import Any, Mapping, Sequence

from matplotlib.figure import Figure

DPI = 90
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
GROUP_COLOURS = {"check (sampled states)": "#9aa5b1", "training": "#ff7f0e", "evaluation": "#1f77b4"}


def png_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _finite(values: Sequence[float]) -> list[float]:
    return [v if v is not None and math.isfinite(v) else math.nan for v in values]


def _style(axis: Any, title: str, ylabel: str) -> None:
    axis.set_title(title, fontsize=10)
    axis.set_xlabel("timesteps", fontsize=9)
    axis.set_ylabel(ylabel, fontsize=9)
    axis.tick_params(labelsize=8)
    axis.grid(alpha=0.3)


def curves_figure(curves: Mapping[str, Sequence[Mapping[str, float]]], *, highlight: str | None = None,
                  rung_budgets: Sequence[int] = (), width: float = 8.4) -> str | None:
    """Success rate and native return against timesteps, one line per candidate (None without points)."""
    curves = {name: points for name, points in curves.items() if points}
    if not curves:
        return None
    figure = Figure(figsize=(width, 2.9 if width > 7 else 2.5))
    success_axis, return_axis = figure.subplots(1, 2)
    for number, (name, points) in enumerate(curves.items()):
        steps = [p["timesteps"] for p in points]
        style = dict(color=COLOURS[number % len(COLOURS)], marker="o", markersize=3,
                     linewidth=2.4 if name == highlight else 1.4, label=name + (" (best)" if name == highlight else ""))
        success_axis.plot(steps, _finite([p.get("success_rate") for p in points]), **style)
        return_axis.plot(steps, _finite([p.get("native_return") for p in points]), **style)
    for budget in rung_budgets:
        for axis in (success_axis, return_axis):
            axis.axvline(budget, color="#bbbbbb", linewidth=0.8, linestyle=":")
    success_axis.set_ylim(-0.05, 1.05)
    _style(success_axis, "success rate (task metric)", "success rate")
    _style(return_axis, "native return (env's own reward)", "episode return")
    success_axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return png_data_uri(figure)


def terms_figure(groups: Mapping[str, Mapping[str, Mapping[str, float]]]) -> str | None:
    """Per reward term, mean ± std in each group (check on sampled states, training, evaluation)."""
    groups = {label: stats for label, stats in groups.items() if stats}
    if not groups:
        return None
    terms: list[str] = []
    for stats in groups.values():
        terms.extend(name for name in stats if name not in terms)
    height = 0.8 / len(groups)
    figure = Figure(figsize=(4.6, 0.55 + 0.42 * len(terms) * max(1, len(groups)) ** 0.5 + 0.5))
    axis = figure.subplots()
    for number, (label, stats) in enumerate(groups.items()):
        positions = [i + (number - (len(groups) - 1) / 2) * height for i in range(len(terms))]
        means = [float(stats.get(t, {}).get("mean", math.nan)) for t in terms]
        stds = [float(stats.get(t, {}).get("std", 0.0)) for t in terms]
        axis.barh(positions, means, height=height * 0.95, xerr=stds, capsize=2, label=label,
                  color=GROUP_COLOURS.get(label, COLOURS[number % len(COLOURS)]), error_kw=dict(linewidth=0.8))
    axis.set_yticks(range(len(terms)))
    axis.set_yticklabels(terms, fontsize=8)
    axis.invert_yaxis()
    axis.axvline(0, color="#444444", linewidth=0.8)
    axis.set_title("reward terms per step (mean ± std)", fontsize=10)
    axis.tick_params(labelsize=8)
    axis.grid(axis="x", alpha=0.3)
    axis.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return png_data_uri(figure)
