"""Turn loop events into something a person can follow (stderr), or JSON lines for scripts.

Modes:
  text   on a terminal: a live panel per iteration (spinner while the LLM works, one row per
         candidate with its check, critic verdict, a training progress bar and success so far, LLM
         calls, tokens and cost so far), with one plain line per finished step scrolling above it.
         Elsewhere (CI, a pipe, a log file): the same plain lines only.
  quiet  nothing.
  json   one JSON object per event on stdout.

Training progress between rungs comes from files the trainer writes in the run folder
(iterations/<k>/training/<id>/progress.json and curve.json), polled about once a second when the
printer knows the run folder; the LLM cost comes from the run's llm_journal.jsonl the same way, or
from `llm_response` events without a run folder.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from reward_coder.cli.common import err_console

POLL_EVERY_S = 1.0


@dataclass
class CandidateRow:
    """What the live panel shows about one candidate; filled from events and polled files."""

    id: str
    check: str = ""
    attempts: int = 0
    unchanged: int = 0
    """Repairs that sent back the code they were asked to fix (counted in `attempts`, but no new try)."""
    critic: str = ""
    steps: int = 0
    rung: int | None = None
    success: float | None = None
    native_return: float | None = None
    training: str = ""
    """'' (not yet), 'training', 'ok' (a rung finished), or the failure status."""


class _Usage:
    """LLM calls, tokens and cost so far: tailed from the run's journal, or summed from events."""

    def __init__(self) -> None:
        self.requests = 0
        self.retries = 0
        self.event_cost = 0.0
        self.journal_calls = 0
        self.tokens = 0
        self.tokens_estimated = False
        self.journal_cost = 0.0
        self._offset = 0
        self._partial = ""
        self.have_journal = False

    @property
    def cost(self) -> float:
        return self.journal_cost if self.have_journal else self.event_cost

    def poll(self, journal: Path) -> None:
        try:
            with open(journal, encoding="utf-8", errors="replace") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
                self._offset = handle.tell()
        except OSError:
            return
        self.have_journal = True
        lines = (self._partial + chunk).split("\n")
        self._partial = lines.pop()  # a line still being written
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.journal_calls += 1
            self.tokens += int(record.get("prompt_tokens") or 0) + int(record.get("completion_tokens") or 0)
            self.tokens_estimated |= bool(record.get("tokens_estimated"))
            self.journal_cost += float(record.get("cost_usd") or 0.0)


class ProgressPrinter:
    """Event sink for the loop (and for `generate`): see the module docstring for the modes."""

    def __init__(self, mode: str = "text", model: str = "", run_dir: str | Path | None = None,
                 console: Console | None = None, live: bool | None = None) -> None:
        """`run_dir`: the run folder, to poll training progress and LLM cost from; `live`: force the live
        panel on or off (default: on when the console is a terminal)."""
        self.mode = mode
        self.model = model
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.console = console or err_console
        self.started = time.monotonic()
        self.live_enabled = mode == "text" and (self.console.is_terminal if live is None else live)
        self._lock = threading.RLock()
        self._live: Live | None = None
        self._iteration: int | None = None
        self._rows: dict[str, CandidateRow] = {}
        self._budgets: list[int] = []
        self._activity: str | None = None
        self._activity_since = 0.0
        self._usage = _Usage()
        self._last_poll = 0.0

    # -- the sink ------------------------------------------------------------------------------

    def __call__(self, kind: str, **data: Any) -> None:
        if self.mode == "quiet":
            return
        if self.mode == "json":
            self._json(kind, data)
            return
        with self._lock:
            self._update(kind, data)
        if kind == "iteration_done":
            self.close()  # the panel keeps its final state on screen; the summary line goes under it
        line = self._format(kind, data)
        if line and not (self._live is not None and kind == "llm_request"):
            self.console.print(f"[dim]{self._elapsed()}[/] {line}", highlight=False, soft_wrap=True)
        if kind == "iteration_start" and self.live_enabled:
            self._start_live()

    def close(self) -> None:
        """Stop the live panel (leaving its last state on screen). Safe to call more than once."""
        with self._lock:
            live, self._live = self._live, None
            self._activity = None
        if live is not None:
            self._poll(force=True)
            live.update(self._panel(), refresh=True)
            live.stop()
            atexit.unregister(self.close)

    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # -- state ---------------------------------------------------------------------------------

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def _row(self, candidate_id: str) -> CandidateRow:
        if candidate_id not in self._rows:
            self._rows[candidate_id] = CandidateRow(candidate_id)
        return self._rows[candidate_id]

    def _candidate_id(self, index: Any) -> str:
        return f"i{self._iteration if self._iteration is not None else 0}-c{index}"

    def _set_activity(self, text: str | None) -> None:
        self._activity = text
        self._activity_since = time.monotonic()

    def _update(self, kind: str, d: dict[str, Any]) -> None:
        if kind == "iteration_start":
            self._iteration = int(d["iteration"])
            self._rows, self._budgets = {}, []
            self._set_activity(None)
        elif kind == "llm_request":
            self._usage.requests += 1
            which = f" for candidate {self._candidate_id(d['index'])}" if "index" in d else ""
            self._set_activity(f"asking {self.model or 'the LLM'}: {d['purpose']}{which} (n={d.get('n', 1)})")
        elif kind == "llm_retry":
            self._usage.retries += 1
            self._set_activity(f"asking {self.model or 'the LLM'}: {d['purpose']} ({d['call']}), attempt "
                               f"{d['attempt']} of {d['of']} after: {d['reason'][:60]}")
        elif kind == "llm_response":
            self._usage.event_cost += float(d.get("cost_usd") or 0.0)
            self._set_activity(None)
        elif kind == "candidate_checked":
            row = self._row(self._candidate_id(d["index"]))
            row.check, row.attempts = str(d["status"]), int(d["attempt"]) + 1
            row.unchanged += 1 if d.get("unchanged") else 0
            self._set_activity(None)
        elif kind == "critic_reviewed":
            row = self._row(self._candidate_id(d["index"]))
            row.critic = str(d["verdict"]) + (" (revised)" if d.get("revision") == "taken" else "")
            self._set_activity(None)
        elif kind == "training_started":
            self._budgets = [int(b) for b in d.get("budgets", [])]
            self._set_activity(f"training {d['n']} candidate(s)")
        elif kind == "training_outcome":
            row = self._row(str(d["candidate"]))
            row.rung = int(d["rung"])
            row.steps = max(row.steps, int(d.get("timesteps") or 0))
            row.training = "ok" if d["status"] == "ok" else str(d["status"])
            if d["status"] == "ok":
                row.success = float(d["success_rate"])
        elif kind == "training_pruned":
            self._row(str(d["candidate"])).training = f"pruned after rung {d['rung']}"
        elif kind == "iteration_done":
            summary = d.get("summary", {})
            for record in summary.get("candidates", []):
                row = self._row(record["id"])
                if record.get("pruned_at_rung") is not None:
                    row.training = f"pruned after rung {record['pruned_at_rung']}"
                elif record.get("same_as"):
                    row.training = f"same as {record['same_as']}"
                if record.get("success_rate") is not None:
                    row.success = float(record["success_rate"])

    def _poll(self, force: bool = False) -> None:
        """Read training progress and LLM usage from the run folder, at most once per POLL_EVERY_S."""
        now = time.monotonic()
        if self.run_dir is None or (not force and now - self._last_poll < POLL_EVERY_S):
            return
        self._last_poll = now
        self._usage.poll(self.run_dir / "llm_journal.jsonl")
        if self._iteration is None:
            return
        training = self.run_dir / "iterations" / str(self._iteration) / "training"
        if not training.is_dir():
            return
        for folder in sorted(p for p in training.iterdir() if p.is_dir()):
            row = self._row(folder.name)
            progress = _read_json(folder / "progress.json")
            curve = _read_json(folder / "curve.json")
            if isinstance(progress, dict):
                row.steps = max(row.steps, int(progress.get("timesteps") or 0))
            if isinstance(curve, list) and curve:
                last = curve[-1]
                row.steps = max(row.steps, int(last.get("timesteps") or 0))
                row.success = float(last.get("success_rate", 0.0))
                row.native_return = last.get("native_return")
            if not row.training and (row.steps or progress is not None):
                row.training = "training"

    # -- rendering -----------------------------------------------------------------------------

    def _start_live(self) -> None:
        with self._lock:
            if self._live is not None:
                return
            self._live = Live(_Renderable(self), console=self.console, refresh_per_second=4, transient=False,
                              redirect_stdout=False, redirect_stderr=False)
        self._live.start()
        atexit.register(self.close)

    def _panel(self) -> Group:
        """The live panel: header with time, LLM usage and cost; activity spinner; one row per candidate."""
        with self._lock:
            self._poll()
            usage = self._usage
            calls = usage.journal_calls if usage.have_journal else usage.requests
            approx = "~" if usage.tokens_estimated else ""
            tokens = f", {approx}{usage.tokens:,} tokens" if usage.have_journal else ""
            header = Text.from_markup(
                f"[bold]iteration {self._iteration}[/]  [dim]{self._elapsed()}[/]  "
                f"LLM: {calls} call(s){tokens}, cost so far ${usage.cost:.4f}"
                + (f", {usage.retries} retries" if usage.retries else "")
            )
            parts: list[Any] = [header]
            if self._activity:
                waited = time.monotonic() - self._activity_since
                parts.append(Spinner("dots", text=Text(f"{self._activity}  {waited:.0f}s", style="cyan")))
            if self._rows:
                parts.append(self._table())
            return Group(*parts)

    def _table(self) -> Table:
        final = self._budgets[-1] if self._budgets else 0
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="dim")
        for column in ("candidate", "check", "critic", "training", "steps", "success", "native return"):
            table.add_column(column, justify="right" if column in ("steps", "success", "native return") else "left")
        for row in self._rows.values():
            check = ""
            if row.check:
                colour = "green" if row.check == "ok" else "red"
                unchanged = f", {row.unchanged} unchanged" if row.unchanged else ""
                check = f"[{colour}]{row.check}[/]" + (f" ({row.attempts} tries{unchanged})" if row.attempts > 1 else "")
            if row.training in ("", "training", "ok") and final and (row.steps or row.training):
                bar: Any = Table.grid(padding=(0, 1))
                bar.add_row(ProgressBar(total=final, completed=min(row.steps, final), width=24),
                            Text(self._rung_label(row), style="dim"))
            else:
                colour = "red" if row.training in ("reward_failed", "crashed") else "yellow"
                bar = Text.from_markup(f"[{colour}]{row.training}[/]" if row.training else "")
            table.add_row(
                row.id, check, row.critic, bar,
                f"{row.steps:,}" + (f"/{final:,}" if final else "") if row.steps else "",
                f"{row.success:.2f}" if row.success is not None else "",
                f"{row.native_return:.1f}" if isinstance(row.native_return, (int, float)) else "",
            )
        return table

    def _rung_label(self, row: CandidateRow) -> str:
        """The rung being trained: one past the last finished rung once steps pass its budget."""
        if row.rung is None:
            return "rung 0" if self._budgets else ""
        budget = self._budgets[row.rung] if row.rung < len(self._budgets) else None
        if budget is not None and row.steps > budget and row.rung + 1 < len(self._budgets):
            return f"rung {row.rung + 1}"
        return f"rung {row.rung} done"

    # -- plain lines and JSON ------------------------------------------------------------------

    def _json(self, kind: str, data: dict[str, Any]) -> None:
        record = {"event": kind, "t": round(time.monotonic() - self.started, 3)}
        record.update({k: v for k, v in data.items() if k != "summary"})
        if "summary" in data:
            record["best_candidate"] = data["summary"].get("best_candidate")
            record["best_success_rate"] = data["summary"].get("best_success_rate")
        if kind == "llm_response":
            self._usage.event_cost += float(data.get("cost_usd") or 0.0)
        if kind == "iteration_done":
            if self.run_dir is not None:
                self._usage.poll(self.run_dir / "llm_journal.jsonl")
            record["llm_cost_usd"] = round(self._usage.cost, 6)
        sys.stdout.write(json.dumps(record, default=str) + "\n")
        sys.stdout.flush()

    def _format(self, kind: str, d: dict[str, Any]) -> str | None:
        if kind == "iteration_start":
            return f"[bold]iteration {d['iteration']}[/]"
        if kind == "llm_request":
            which = f" for candidate {d['index']}" if "index" in d else ""
            return f"  asking {self.model} ({d['purpose']}{which}, n={d.get('n', 1)})"
        if kind == "llm_retry":
            label = f" {d['label']}" if d.get("label") else ""
            return (f"  [yellow]retrying[/] {d['purpose']}{label} ({d['call']}): attempt {d['attempt']} of {d['of']} "
                    f"in {float(d['wait_s']):.1f} s, after {d['reason']}")
        if kind == "candidate_checked":
            colour = "green" if d["status"] == "ok" else "red"
            same = " [yellow](unchanged: the repair repeated the code it had to fix)[/]" if d.get("unchanged") else ""
            return f"  candidate {d['index']} attempt {d['attempt']}: [{colour}]{d['status']}[/]{same}"
        if kind == "critic_reviewed":
            revision = f", revision {d['revision']}" if d.get("revision") else ""
            return f"  critic on candidate {d['index']}: {d['verdict']}{revision}"
        if kind == "screening":
            if d["verdict"] == "undecided":
                return f"  screening {d['candidate']}: {d['reason']}"
            auc = f"AUC {d['auc']:.2f}, " if isinstance(d.get("auc"), (int, float)) else ""
            if d["verdict"] == "passed":
                return f"  screening {d['candidate']}: [green]passed[/] ({auc}{d['episodes']} earlier episodes)"
            then = "not trained" if not d["trained"] else "trained anyway (--no-screen)"
            return f"  screening {d['candidate']}: [red]{d['verdict']}[/], {then}: {d['reason']}"
        if kind == "screening_skipped":
            return f"  [yellow]screening skipped[/]: {d['reason']}"
        if kind == "shared_replay_skipped":
            return f"  [yellow]shared replay not used[/]: {d['reason']}"
        if kind == "training_started":
            dup = f", {d['duplicates']} duplicate(s) trained once" if d.get("duplicates") else ""
            return f"  training {d['n']} candidate(s), rungs at {', '.join(map(str, d['budgets']))} steps{dup}"
        if kind == "training_outcome":
            if d["status"] != "ok":
                return f"  [red]{d['candidate']} {d['status']}[/]: {d['failure']}"
            return f"  {d['candidate']} rung {d['rung']}: success {d['success_rate']:.2f} after {d['timesteps']} steps"
        if kind == "training_pruned":
            return f"  [yellow]{d['candidate']} pruned[/] after rung {d['rung']}"
        if kind == "iteration_done":
            s = d["summary"]
            best = s.get("best_candidate")
            text = f"best {best} (success {s['best_success_rate']:.2f})" if best else "[yellow]no candidate trained[/]"
            with self._lock:
                if self.run_dir is not None:
                    self._usage.poll(self.run_dir / "llm_journal.jsonl")
                cost = f"; LLM cost so far ${self._usage.cost:.4f}" if self._usage.cost or self._usage.have_journal else ""
            return f"[bold]iteration {d['iteration']} done[/]: {text}{cost}"
        if kind == "finals_started":
            return (f"[bold]finals[/]: {', '.join(d['finalists'])} retrained on fresh seeds "
                    f"{', '.join(map(str, d['seeds']))} ({d['n']} to train)")
        if kind == "final_outcome":
            if d["status"] != "ok":
                return f"  [red]{d['candidate']} {d['status']}[/]: {d['failure']}"
            return f"  {d['candidate']}: held-out success {d['success_rate']:.2f} after {d['timesteps']} steps"
        if kind == "finals_done":
            from reward_coder.stats import SeedStats

            stats = SeedStats(**d["held_out"])
            return (f"[bold]finals done[/]: {d['chosen']} chosen; held-out success {stats.describe()} "
                    f"over seeds x {d['episodes']} episodes")
        if kind == "metric":
            return f"success metric ({d['source']}): {d['text']}"
        if kind == "metric_rejected":
            return f"[yellow]proposed success metric rejected[/]: {d['reason']}"
        if kind == "isolation":
            return f"sandbox: {d['level']} ({d['detail']})"
        if kind == "sampling":
            return f"sampled {d['n']} real transitions of {d['env']} for the checks"
        return None


class _Renderable:
    """Rebuilt on every refresh of the Live display, so polled progress shows without new events."""

    def __init__(self, printer: ProgressPrinter) -> None:
        self.printer = printer

    def __rich__(self) -> Group:
        return self.printer._panel()


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError: bad JSON or bytes that are not UTF-8
        return None
