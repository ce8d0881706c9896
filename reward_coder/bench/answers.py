"""`reward-coder bench answers JOURNAL...`: recorded LLM answers replayed through today's extraction and checks.

An LLM journal (`llm_journal.jsonl` of a run or `generate` folder) keeps every answer a model gave. This
bench takes those answers as they are - no LLM is called - and puts each through the same pipeline the
loop uses: `extract_reward_code`, then the checker `make_checker` builds (static checks, a sandboxed run
on real states sampled from the card's environment, the verdict). It counts, per journal and purpose,
how many answers there were, how many gave code, how many passed the checks, the failures by issue code,
and how many were flagged by a reward-direction check when the checker has one.

It is self-contained on purpose: it uses only `extract_reward_code`, `resolve_task`, `RunConfig`,
`make_checker` and `code_fingerprint`, which older commits have too, so the same file copied onto an
older commit gives the 'before' figure on the very same answers. On a commit whose CLI has no
`bench answers`, copy this file to reward_coder/bench/answers.py there and run:

    python -c "import sys; from pathlib import Path; from reward_coder.bench.answers import bench_answers, \
markdown_table; print(markdown_table(bench_answers([Path(p) for p in sys.argv[1:]])))" tests/fixtures/realmodel/*.jsonl

Pure apart from the checks' sandbox: it returns a dict and prints nothing (the CLI writes and prints it).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

CODE_PURPOSES = ("designer", "repair", "critic")
"""Purposes whose answers may carry a reward function; others (analyzer, success_proposal) are counted, not checked."""
DIRECTION_MARK = "direction"
"""An issue whose rule contains this word comes from a check of which way the reward points."""
_REPAIR_LABEL = re.compile(r"^c(\d+)-r(\d+)$")
_DIRECTION_RULE = re.compile(r"""["'`][a-z0-9_-]*direction[a-z0-9_-]*["'`]""")
_TASK_SECTION = re.compile(r"^## Task\n(.+?)\n\n## ", re.DOTALL | re.MULTILINE)


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The records of a journal file, one per line (blank lines skipped)."""
    from reward_coder.errors import ConfigError
    from reward_coder.textfile import REPLAY_MAX_BYTES, read_text_file

    records = []
    text = read_text_file(path, "journal", limit_bytes=REPLAY_MAX_BYTES)
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ConfigError(f"{path}:{number} is not a JSON line ({err.msg})") from None
            if not isinstance(record, dict):
                raise ConfigError(f"{path}:{number} is not a journal record (a JSON object)")
            records.append(record)
    return records


def answer_texts(record: dict[str, Any]) -> list[str]:
    """The answers of one journal record: `samples` (a list, or a JSON list in a string), else the completion's."""
    samples = record.get("samples")
    if isinstance(samples, str):
        samples = json.loads(samples)
    if samples is None:
        samples = (record.get("completion") or {}).get("samples") or []
    return [str(sample) for sample in samples]


def journal_task_key(records: Sequence[dict[str, Any]]) -> str:
    """The task key the journal's requests were made for (the first one that names one)."""
    for record in records:
        if record.get("task_key"):
            return str(record["task_key"])
    from reward_coder.errors import ConfigError

    raise ConfigError("the journal names no task_key; pass --task CARD/TASK (or a card id)")


def journal_instruction(records: Sequence[dict[str, Any]]) -> str | None:
    """The task text of the journal's first designer prompt (its '## Task' section), when the record has it."""
    for record in records:
        if record.get("purpose") != "designer":
            continue
        for message in (record.get("request") or {}).get("messages") or []:
            found = _TASK_SECTION.search(str(message.get("content", "")))
            if message.get("role") == "user" and found:
                return found.group(1).strip()
    return None


def task_for(key: str, instruction: str | None = None):
    """The task to check against: a named task 'card/task'; for a free-text task ('card/custom-...') the same
    task rebuilt from its recorded instruction; for a bare card id (or no instruction), the card alone."""
    from reward_coder.errors import RewardCoderError
    from reward_coder.tasks import resolve_task

    card_id, _, name = key.partition("/")
    if name:
        try:
            return resolve_task(key, None, None)
        except RewardCoderError:
            pass  # a free-text task: its card and instruction are what the checks need
    return resolve_task(None, instruction or f"recorded answers of {key}", card_id)


def _direction_check_present() -> bool:
    """Whether this code's checks have a reward-direction rule: a quoted rule name with 'direction' in it
    somewhere in the sandbox package's source (an older commit has none; the word alone in prose does not count)."""
    from importlib.util import find_spec

    import reward_coder.sandbox as sandbox

    if find_spec("reward_coder.direction") is not None:
        return True
    folder = Path(sandbox.__file__).parent
    sources = (path.read_text(encoding="utf-8", errors="replace") for path in folder.glob("*.py"))
    return any(_DIRECTION_RULE.search(source) for source in sources)


def _repaired_answer(record: dict[str, Any], designs: dict[tuple[int, int], str],
                     repairs: dict[tuple[int, int, int], str]) -> str | None:
    """The answer a repair was asked to fix: designer sample i of its iteration (round 0) or the round before."""
    match = _REPAIR_LABEL.match(str(record.get("label", "")))
    if not match:
        return None
    index, round_index = int(match.group(1)), int(match.group(2))
    iteration = int(record.get("iteration") or 0)
    if round_index == 0:
        return designs.get((iteration, index))
    return repairs.get((iteration, index, round_index - 1))


def _empty_row() -> dict[str, Any]:
    return {"answers": 0, "extracted": 0, "passed": 0, "direction_flagged": 0, "passed_and_direction_flagged": 0,
            "failures": Counter(), "warnings": Counter(), "repairs_identical_to_repaired": 0}


def _add(row: dict[str, Any], answer: dict[str, Any]) -> None:
    row["answers"] += 1
    row["extracted"] += answer["extracted"]
    row["passed"] += answer["passed"]
    row["direction_flagged"] += answer["direction_flagged"]
    row["passed_and_direction_flagged"] += answer["passed"] and answer["direction_flagged"]
    row["failures"].update(answer["errors"])
    row["warnings"].update(answer["warnings"])
    row["repairs_identical_to_repaired"] += bool(answer.get("identical_to_repaired"))


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "failures": dict(row["failures"].most_common()), "warnings": dict(row["warnings"].most_common())}


def bench_answers(journals: Sequence[Path], task_key: str | None = None, allow_unsandboxed: bool = False,
                  on_progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Replay every answer of `journals` through extraction and the loop's checker; return the figures.

    `task_key` overrides the journals' own task key ('card/task' or a card id). Identical code is checked
    once (the check is deterministic on the same sampled states). Figures: per journal and purpose, and
    in total; `answers` lists each answer with its outcome and code, so every flag can be judged by a person.
    An answer with several errors counts once under each of their issue codes.
    """
    from reward_coder.config import RunConfig
    from reward_coder.extract import extract_reward_code
    from reward_coder.generate import make_checker
    from reward_coder.loop import code_fingerprint

    say = on_progress or (lambda _message: None)
    direction_present = _direction_check_present()
    checkers: dict[str, Any] = {}
    checked: dict[tuple[str, str], Any] = {}
    answers: list[dict[str, Any]] = []
    journals_out = []
    total_rows: dict[str, dict[str, Any]] = {}
    started = time.monotonic()
    for path in journals:
        records = read_journal(Path(path))
        key = task_key or journal_task_key(records)
        task = task_for(key, journal_instruction(records) if task_key is None else None)
        if task.key not in checkers:
            config = RunConfig(instruction=task.instruction, env=task.card.id, task=task.key, model="replay",
                               allow_unsandboxed=allow_unsandboxed)
            checkers[task.key] = make_checker(task, config, lambda *_a, **_k: None)
        checker = checkers[task.key]
        rows: dict[str, dict[str, Any]] = {}
        designs: dict[tuple[int, int], str] = {}
        repairs: dict[tuple[int, int, int], str] = {}
        for record in records:
            purpose = str(record.get("purpose") or "unknown")
            texts = answer_texts(record)
            iteration = int(record.get("iteration") or 0)
            for sample, text in enumerate(texts):
                answer: dict[str, Any] = {
                    "journal": Path(path).name, "purpose": purpose, "iteration": iteration,
                    "label": str(record.get("label") or ""), "sample": sample, "extracted": False, "passed": False,
                    "direction_flagged": False, "errors": [], "warnings": [], "code": None, "checked": False,
                }
                if purpose not in CODE_PURPOSES:
                    rows.setdefault(purpose, _empty_row())["answers"] += 1
                    answers.append(answer)
                    continue
                extracted = extract_reward_code(text)
                code = getattr(extracted, "code", None)
                if code is None:
                    answer["errors"] = [f"extract:{getattr(extracted, 'kind', 'failed')}"]
                else:
                    answer.update(extracted=True, code=code, checked=True)
                    cache_key = (task.key, code_fingerprint(code))
                    if cache_key not in checked:
                        say(f"checking {Path(path).name} {purpose} {answer['label'] or iteration} #{sample}")
                        checked[cache_key] = checker(code)
                    report = checked[cache_key]
                    issues = list(report.issues)
                    answer["passed"] = bool(report.ok)
                    answer["errors"] = sorted({i.rule for i in issues if i.severity == "error"})
                    answer["warnings"] = sorted({i.rule for i in issues if i.severity != "error"})
                    answer["direction_flagged"] = any(DIRECTION_MARK in i.rule for i in issues)
                    answer["issues"] = [i.describe() for i in issues]
                if purpose == "designer":
                    designs[(iteration, sample)] = code or text
                elif purpose == "repair":
                    before = _repaired_answer(record, designs, repairs)
                    now = code or text
                    answer["identical_to_repaired"] = before is not None and code_fingerprint(before) == code_fingerprint(now)
                    match = _REPAIR_LABEL.match(answer["label"])
                    if match:
                        repairs[(iteration, int(match.group(1)), int(match.group(2)))] = now
                for table in (rows, total_rows):
                    _add(table.setdefault(purpose, _empty_row()), answer)
                    _add(table.setdefault("all", _empty_row()), answer)
                answers.append(answer)
        journals_out.append({
            "journal": str(path), "task_key": key, "card": task.card.id, "checked_as": task.key,
            "purposes": {purpose: _finish(row) for purpose, row in rows.items()},
        })
    return {
        "what": "recorded LLM answers replayed through today's extraction and sandboxed checks (no LLM called)",
        "direction_check_present": direction_present,
        "code_purposes": list(CODE_PURPOSES),
        "distinct_codes_checked": len(checked),
        "seconds": round(time.monotonic() - started, 1),
        "journals": journals_out,
        "total": {purpose: _finish(row) for purpose, row in total_rows.items()},
        "answers": answers,
    }


def _ordered(rows: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(purpose, rows[purpose]) for purpose in (*CODE_PURPOSES, "all") if purpose in rows]


def table_rows(result: dict[str, Any]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """(journal, purpose, figures) per journal and code purpose, then the totals (journal 'all journals')."""
    for journal in result["journals"]:
        for purpose, row in _ordered(journal["purposes"]):
            yield Path(journal["journal"]).name.removesuffix(".jsonl"), purpose, row
    for purpose, row in _ordered(result["total"]):
        yield "all journals", purpose, row


def failure_text(row: dict[str, Any], limit: int = 6) -> str:
    """The failure codes of a row, most common first: 'runtime-error 5, extract:no_function 2'."""
    return ", ".join(f"{code} {count}" for code, count in list(row["failures"].items())[:limit]) or "-"


def markdown_table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table (what the CLI prints, ready for a note or an issue)."""
    direction = result["direction_check_present"]
    lines = [
        "| journal | purpose | answers | with code | passed checks | direction flagged (passed) "
        "| repairs identical to what they repair | failures by issue code |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for journal, purpose, row in table_rows(result):
        flagged = f"{row['direction_flagged']} ({row['passed_and_direction_flagged']})" if direction else "no check"
        same = str(row["repairs_identical_to_repaired"]) if purpose in ("repair", "all") else ""
        lines.append(f"| {journal} | {purpose} | {row['answers']} | {row['extracted']} | {row['passed']} | {flagged} "
                     f"| {same} | {failure_text(row)} |")
    return "\n".join(lines) + "\n"
