"""The bench's report.html: one self-contained page (tables, learning curves as embedded PNGs).

Standalone on purpose: the run report (reward_coder/report/) describes one run's iterations; a bench
is a grid of tasks x methods x seeds. Without matplotlib the page still has every table.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

from reward_coder.bench.score import (
    CONFIDENCE,
    FAILURE_LABELS,
    TABLE_NOTE,
    BenchSummary,
    JobResult,
    MethodSummary,
    format_overall,
    format_score,
    format_success,
)
from reward_coder.bench.suite import EXPERT, SPARSE, Suite

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.note { color: #666; font-size: 13px; }
.failed { color: #b00; }
img { max-width: 100%; }
"""

_COLORS = {EXPERT: "#1f77b4", SPARSE: "#7f7f7f"}


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _curve_images(summary: BenchSummary) -> dict[str, str]:
    """Task -> base64 PNG of success rate against steps, one line per method (mean, min-max band)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    images = {}
    palette = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    for task in summary.tasks:
        figure, axis = plt.subplots(figsize=(5.5, 3.2))
        tested = 0
        for method in summary.methods:
            row = summary.row(task, method)
            if row is None or not row.curve:
                continue
            color = _COLORS.get(method) or palette[tested % len(palette)]
            tested += method not in _COLORS
            steps = [p[0] for p in row.curve]
            axis.plot(steps, [p[1] for p in row.curve], label=method, color=color, marker="o", markersize=3)
            axis.fill_between(steps, [p[2] for p in row.curve], [p[3] for p in row.curve], color=color, alpha=0.15)
        axis.set_title(task, fontsize=10)
        axis.set_xlabel("environment steps")
        axis.set_ylabel("success rate")
        axis.set_ylim(-0.05, 1.05)
        axis.grid(alpha=0.3)
        if axis.lines:
            axis.legend(fontsize=8)
        images[task] = _png(figure)
        plt.close(figure)
    return images


def _success_cell(row: MethodSummary) -> str:
    """The statistics of the ok seeds, or the failure in red; the first reason of each failure kind in full on hover."""
    text = html.escape(format_success(row))
    if not row.failures():
        return f"<td>{text}</td>"
    reasons = html.escape("\n".join(f"{FAILURE_LABELS[k]}: {v}" for k, v in row.first_failure.items()), quote=True)
    css = "" if row.success.n else " class='failed'"
    return f"<td{css} title='{reasons}'>{text}</td>"


def render_report(suite: Suite, summary: BenchSummary, results: Sequence[JobResult]) -> str:
    """The whole page as one HTML string."""
    e = html.escape
    tested = [m for m in summary.methods if m not in (EXPERT, SPARSE)]
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>bench {e(suite.name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Bench: {e(suite.name)}</h1>",
        f"<p>{e(suite.description)}</p>" if suite.description else "",
        f"<p class='note'>{e(suite.algorithm)}, {suite.total_timesteps:,} steps per run, {suite.n_envs} envs, "
        f"seeds {', '.join(map(str, suite.seeds))}; success rate of the final evaluation "
        f"({suite.eval_episodes} episodes per seed). {e(TABLE_NOTE.format(confidence=CONFIDENCE))} "
        "The normalized score is n/a where expert and sparse tie or a mean is missing.</p>",
        "<h2>Success rate</h2><table><tr><th>task</th><th>expert</th><th>sparse</th>",
    ]
    out += [f"<th>{e(m)}</th>" for m in tested] + [f"<th>{e(m)}<br>norm. score</th>" for m in tested] + ["</tr>"]
    for task in summary.tasks:
        cells = [f"<td>{e(task)}</td>"]
        for method in [EXPERT, SPARSE, *tested]:
            row = summary.row(task, method)
            cells.append(_success_cell(row) if row else "<td>-</td>")
        for method in tested:
            row = summary.row(task, method)
            cells.append(f"<td>{format_score(row.normalized_score) if row else '-'}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    means = ["<td><b>all tasks</b></td>"]
    for method in [EXPERT, SPARSE, *tested]:
        means.append(f"<td>{e(format_overall(summary, method, 'success_mean', 'success_tasks'))}</td>")
    for method in tested:
        score = format_overall(summary, method, "normalized_score_mean", "normalized_score_tasks")
        means.append(f"<td>{e(score)}</td>")
    out.append("<tr>" + "".join(means) + "</tr></table>")

    images = _curve_images(summary)
    out.append("<h2>Learning curves</h2>")
    if not images:
        out.append("<p class='note'>matplotlib is not installed: pip install 'reward-coder[report]' for the plots.</p>")
    for task in summary.tasks:
        if task in images:
            out.append(f"<img alt='learning curve {e(task)}' src='data:image/png;base64,{images[task]}'>")

    out.append("<h2>Runs</h2><table><tr><th>job</th><th>status</th><th>success</th><th>native return</th>"
               "<th>steps</th><th>wall s</th><th>failure</th></tr>")
    for result in sorted(results, key=lambda r: r.job_id):
        rate = "-" if result.success_rate is None else f"{result.success_rate:.2f}"
        native = "-" if result.native_return is None else f"{result.native_return:.1f}"
        verdict = "ok" if result.verdict == "ok" else FAILURE_LABELS[result.verdict]
        out.append(
            f"<tr><td>{e(result.job_id)}</td><td>{e(verdict)}</td><td>{rate}</td><td>{native}</td>"
            f"<td>{result.timesteps:,}</td><td>{result.wall_s:.0f}</td><td>{e(result.failure[:200])}</td></tr>"
        )
    out.append("</table></body></html>")
    return "\n".join(part for part in out if part)
