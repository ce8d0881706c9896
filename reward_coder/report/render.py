"""Turn a RunView plus its figures and video into one self-contained HTML page (jinja2, no JavaScript).

Everything is inline: CSS in the page, plots as base64 PNG, the video as a base64 mp4 (or a file next
to the page when it is too big to inline). The page opens from disk with no network.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "–"
    if number != 0 and (abs(number) >= 1e5 or abs(number) < 1e-3):
        return f"{number:.{digits}g}"
    text = f"{number:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rate(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2f}"


def _usd(value: Any) -> str:
    return f"${float(value or 0.0):.4f}"


def _when(stamp: Any) -> str:
    if not stamp:
        return "–"
    return _dt.datetime.fromtimestamp(float(stamp)).strftime("%Y-%m-%d %H:%M:%S")


def _kilobytes(size: int) -> str:
    return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from reward_coder.report.runs import best_figure

    env.filters.update(num=_number, rate=_rate, usd=_usd, when=_when, kb=_kilobytes, best_figure=best_figure)
    return env


def data_uri(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(payload).decode("ascii")


def render_html(**context: Any) -> str:
    """Render templates/report.html.j2 with the given context (see reward_coder.report.build_report)."""
    return environment().get_template("report.html.j2").render(**context)
