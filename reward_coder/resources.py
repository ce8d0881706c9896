"""Locate the data folders (prompts/, envs/) in a wheel install or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder `name` ("prompts" or "envs").

    A wheel carries them under reward_coder/_data/; an editable install or a checkout has them at the
    repository root, one level above the package.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"reward-coder data folder '{name}' not found next to {_PACKAGE_DIR}; reinstall the package"
    )


def standins_dir() -> Path:
    """Hand-written stand-in LLM responses shipped for the offline demo and tests."""
    return _PACKAGE_DIR / "standins"
