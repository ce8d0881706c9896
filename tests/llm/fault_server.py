"""A flaky OpenAI-compatible chat server on 127.0.0.1: answers, or fails in the ways real endpoints fail.

Each request draws one outcome from a seeded random stream, so a run of the fault benchmark is
reproducible: with probability `fault_rate` a fault from `mix`, else a proper answer. The faults are
the ones seen from real servers and proxies:

- `empty_choices`: 200 with `"choices": []` (an overloaded proxy, a filtered answer)
- `short_choices`: 200 with fewer choices than `n` asked (only differs from empty when n > 1)
- `status_500`, `status_502`, `status_503`, `status_429`: error statuses (503 and 429 with Retry-After: 0)
- `timeout`: the answer comes after the client's timeout (`slow_s`)
- `truncated`: a Content-Length longer than the body, then the connection closes
- `malformed_json`: 200 with a body cut in the middle of the JSON

Nothing here is a model: the answer texts are whatever the caller configured (`answers`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

FAULTS = (
    "empty_choices",
    "short_choices",
    "status_500",
    "status_502",
    "status_503",
    "status_429",
    "timeout",
    "truncated",
    "malformed_json",
)
"""Every fault the server can inject; the default mix draws them with equal weight."""


@dataclass
class FaultyServer:
    """State of the flaky server: its fault stream and what it was sent."""

    fault_rate: float = 0.3
    mix: tuple[str, ...] = FAULTS
    seed: int = 0
    slow_s: float = 1.0
    """How long a `timeout` fault holds the answer back; set it above the client's timeout."""
    answers: list[str] = field(default_factory=lambda: ["def compute_reward(state, action):\n    return 0.0"])
    base_url: str = ""
    script: list[str] = field(default_factory=list)
    """Outcomes of the next requests in order of arrival ('ok' or a fault), before any random draw."""
    log: list[dict[str, Any]] = field(default_factory=list)
    """One entry per request: its n and the outcome drawn ('ok' or a fault name)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        unknown = (set(self.mix) | set(self.script)) - set(FAULTS) - {"ok"}
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self.restart(self.seed)

    def restart(self, seed: int, fault_rate: float | None = None) -> None:
        """Start a new fault stream (one per measured run) and forget the log."""
        with self.lock:
            self.seed = seed
            self._rng = random.Random(seed)
            if fault_rate is not None:
                self.fault_rate = fault_rate
            self.log.clear()

    def draw(self, n: int) -> str:
        with self.lock:
            outcome = "ok"
            if self.script:
                outcome = self.script.pop(0)
            elif self._rng.random() < self.fault_rate:
                outcome = self._rng.choice(self.mix)
            self.log.append({"n": n, "outcome": outcome})
            return outcome

    def faults(self) -> int:
        with self.lock:
            return sum(1 for entry in self.log if entry["outcome"] != "ok")


def _payload(server: FaultyServer, body: dict[str, Any], n_choices: int, index: int) -> dict[str, Any]:
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": server.answers[(index + i) % len(server.answers)]},
            "finish_reason": "stop",
        }
        for i in range(n_choices)
    ]
    return {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": 1700000000,
        "model": body.get("model", "flaky-model"),
        "choices": choices,
        "usage": {"prompt_tokens": 11, "completion_tokens": 7 * n_choices, "total_tokens": 11 + 7 * n_choices},
    }


def _handler_for(server: FaultyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def _send(self, status: int, data: bytes, length: int | None = None, retry_after: bool = False) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) if length is None else length))
                if retry_after:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            n = int(body.get("n", 1))
            outcome = server.draw(n)
            index = len(server.log)
            if outcome.startswith("status_"):
                status = int(outcome.split("_")[1])
                error = {"error": {"message": f"flaky server says {status}", "type": "flaky", "code": str(status)}}
                self._send(status, json.dumps(error).encode(), retry_after=status in (429, 503))
                return
            if outcome == "timeout":
                time.sleep(server.slow_s)
            n_choices = {"empty_choices": 0, "short_choices": max(0, n - 1) if n > 1 else 0}.get(outcome, n)
            data = json.dumps(_payload(server, body, n_choices, index)).encode()
            if outcome == "truncated":
                self._send(200, data[: len(data) // 2], length=len(data))
                self.close_connection = True
                return
            if outcome == "malformed_json":
                data = data[: len(data) // 2]
            self._send(200, data)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or drop a truncated answer are the point here


def serve_faulty(server: FaultyServer) -> Iterator[FaultyServer]:
    """Serve `server` on a random port of 127.0.0.1 until the generator is closed."""
    http = _QuietServer(("127.0.0.1", 0), _handler_for(server))
    server.base_url = f"http://127.0.0.1:{http.server_address[1]}/v1"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
