"""Find env cards: the packaged ones in envs/, plus folders named in REWARD_CODER_CARDS.

Users add an environment by dropping a card file into a folder of their own and listing that folder in
`REWARD_CODER_CARDS` (colon-separated, like PATH); no package file is edited. A user card whose id
equals a packaged card's id replaces the packaged one, so a user can also retune a shipped card.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from reward_coder.envs.cards import load_card
from reward_coder.errors import CardError, ConfigError, UnknownEnvError
from reward_coder.resources import data_dir
from reward_coder.types import EnvCard, TaskSpec

CARDS_ENV_VAR = "REWARD_CODER_CARDS"
_SUFFIXES = (".yaml", ".yml")


def card_dirs() -> list[Path]:
    """The folders searched for cards, packaged folder first; later folders override earlier ids."""
    dirs = [data_dir("envs")]
    for entry in os.environ.get(CARDS_ENV_VAR, "").split(os.pathsep):
        if not entry.strip():
            continue
        folder = Path(entry.strip()).expanduser()
        if not folder.is_dir():
            raise ConfigError(
                f"{CARDS_ENV_VAR} names '{entry}', which is not a folder; fix or remove that entry"
            )
        dirs.append(folder)
    return dirs


def _card_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    except OSError as err:
        raise ConfigError(f"card folder {folder} cannot be listed ({err.strerror or err}); "
                          f"fix its permissions or remove it from {CARDS_ENV_VAR}") from None


@lru_cache(maxsize=8)
def _load_all(files: tuple[tuple[str, int, int], ...]) -> tuple[EnvCard, ...]:
    """Cards of (folder index, path, mtime) triples; cached on the file list and modification times."""
    by_id: dict[str, tuple[EnvCard, int, str]] = {}
    for folder_index, path, _mtime in files:
        card = load_card(path)
        previous = by_id.get(card.id)
        if previous is not None and previous[1] == folder_index:
            raise CardError(
                f"env card {path}: id '{card.id}' is also used by {previous[2]}; give one of them another id"
            )
        by_id[card.id] = (card, folder_index, path)
    return tuple(sorted((entry[0] for entry in by_id.values()), key=lambda c: c.id))


def list_cards() -> list[EnvCard]:
    """Every known card, sorted by id. Raises CardError if any card file is malformed.

    A bad card (malformed, binary, not UTF-8, too large) in a REWARD_CODER_CARDS folder fails every
    command that looks cards up, with one line naming the file, rather than being skipped with a
    warning: a skipped card that overrides a packaged id would silently train on the packaged card, and
    a skipped new card would surface later as a misleading "no env card for X". The fix is one edit or
    one `mv`, and the line says which file.
    """
    files: list[tuple[int, str, int]] = []
    for index, folder in enumerate(card_dirs()):
        for path in _card_files(folder):
            files.append((index, str(path), path.stat().st_mtime_ns))
    return list(_load_all(tuple(files)))


def get_card(name: str) -> EnvCard:
    """The card with id `name` ('halfcheetah') or gymnasium id `name` ('HalfCheetah-v5'), any case."""
    cards = list_cards()
    wanted = name.strip().lower()
    for card in cards:
        if card.id.lower() == wanted:
            return card
    matches = [card for card in cards if card.env_id.lower() == wanted]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        ids = ", ".join(card.id for card in matches)
        raise ConfigError(f"several env cards use {name} ({ids}); name the card id instead")
    known = ", ".join(f"{card.id} ({card.env_id})" for card in cards) or "none"
    raise UnknownEnvError(
        f"no env card for '{name}'; known: {known}. `reward-coder envs` lists them, "
        f"and a card of your own can be added through {CARDS_ENV_VAR}"
    )


def resolve_task(address: str) -> tuple[EnvCard, TaskSpec]:
    """Card and task of '<card id or gym id>/<task name>', e.g. 'halfcheetah/run-backward'."""
    env_name, sep, task_name = address.strip().rpartition("/")
    if not sep or not env_name or not task_name:
        raise ConfigError(
            f"task '{address}' is not of the form <env>/<task>, e.g. 'halfcheetah/run-backward'"
        )
    card = get_card(env_name)
    for task in card.tasks:
        if task.name == task_name.strip().lower():
            return card, task
    known = ", ".join(f"{card.id}/{task.name}" for task in card.tasks) or "none"
    raise ConfigError(f"env card '{card.id}' has no task '{task_name}'; its tasks: {known}")
