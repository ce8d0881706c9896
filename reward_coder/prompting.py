"""Render prompts/*.j2. Prompt text lives only in those templates; a missing variable is an error."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from reward_coder.resources import data_dir


@lru_cache(maxsize=4)
def _environment(folder: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, folder: Path | None = None, **variables: Any) -> str:
    """Render `template` (e.g. 'designer_user.j2') with StrictUndefined.

    A variable the template needs but was not given raises jinja2.UndefinedError instead of
    silently rendering an empty string into a prompt.
    """
    env = _environment(str(folder or data_dir("prompts")))
    return env.get_template(template).render(**variables).strip() + "\n"


def template_names(folder: Path | None = None) -> list[str]:
    """All prompt templates shipped (for golden tests and `reward-coder prompts`)."""
    return sorted(p.name for p in (folder or data_dir("prompts")).glob("*.j2"))
