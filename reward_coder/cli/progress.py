"""Turn loop events into lines a person can follow (stderr), or JSON lines for scripts."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from reward_coder.cli.common import err_console


class ProgressPrinter:
    """Event sink for the loop: one readable line per event that matters."""

    def __init__(self, mode: str = "text", model: str = "") -> None:
        self.mode = mode
        self.model = model
        self.started = time.monotonic()

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def __call__(self, kind: str, **data: Any) -> None:
        if self.mode == "quiet":
            return
        if self.mode == "json":
            record = {"event": kind, "t": round(time.monotonic() - self.started, 3)}
            record.update({k: v for k, v in data.items() if k != "summary"})
            if "summary" in data:
                record["best_candidate"] = data["summary"].get("best_candidate")
                record["best_success_rate"] = data["summary"].get("best_success_rate")
            sys.stdout.write(json.dumps(record, default=str) + "\n")
            sys.stdout.flush()
            return
        line = self._format(kind, data)
        if line:
            err_console.print(f"[dim]{self._elapsed()}[/] {line}", highlight=False, soft_wrap=True)

    def _format(self, kind: str, d: dict[str, Any]) -> str | None:
        if kind == "iteration_start":
            return f"[bold]iteration {d['iteration']}[/]"
        if kind == "llm_request":
            which = f" for candidate {d['index']}" if "index" in d else ""
            return f"  asking {self.model} ({d['purpose']}{which}, n={d.get('n', 1)})"
        if kind == "candidate_checked":
            colour = "green" if d["status"] == "ok" else "red"
            return f"  candidate {d['index']} attempt {d['attempt']}: [{colour}]{d['status']}[/]"
        if kind == "critic_reviewed":
            revision = f", revision {d['revision']}" if d.get("revision") else ""
            return f"  critic on candidate {d['index']}: {d['verdict']}{revision}"
        if kind == "training_started":
            dup = f", {d['duplicates']} duplicate(s) trained once" if d.get("duplicates") else ""
            return f"  training {d['n']} candidate(s), rungs at {', '.join(map(str, d['budgets']))} steps{dup}"
        if kind == "training_outcome":
            if d["status"] != "ok":
                return f"  [red]{d['candidate']} {d['status']}[/]: {d['failure']}"
            return f"  {d['candidate']} rung {d['rung']}: success {d['success_rate']:.2f} after {d['timesteps']} steps"
        if kind == "iteration_done":
            s = d["summary"]
            best = s.get("best_candidate")
            text = f"best {best} (success {s['best_success_rate']:.2f})" if best else "no candidate trained"
            return f"[bold]iteration {d['iteration']} done[/]: {text}"
        if kind == "metric":
            return f"success metric ({d['source']}): {d['text']}"
        if kind == "metric_rejected":
            return f"[yellow]proposed success metric rejected[/]: {d['reason']}"
        if kind == "isolation":
            return f"sandbox: {d['level']} ({d['detail']})"
        if kind == "sampling":
            return f"sampled {d['n']} real transitions of {d['env']} for the checks"
        return None
