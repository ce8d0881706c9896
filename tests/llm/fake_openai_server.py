"""A fake OpenAI-compatible chat server on 127.0.0.1 for the LiteLLM tests (no real provider is called)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator


@dataclass
class FakeOpenAI:
    """State of the fake server: what it will answer next, and what it was sent."""

    base_url: str = ""
    statuses: list[int] = field(default_factory=list)
    """Status of the next responses, in order; 200 once the list is used up."""
    always_status: int | None = None
    ignore_n: bool = False
    """Answer one choice whatever `n` asks, like Ollama's OpenAI endpoint."""
    delay_s: float = 0.0
    delays: list[float] = field(default_factory=list)
    """Delay of the next requests in order of arrival (then delay_s): makes some answers slow."""
    answers: list[str] = field(default_factory=list)
    """Texts of the choices (choice i of a request gets answers[i % len]); empty: 'sample R.I'."""
    choice_tokens: list[int] = field(default_factory=list)
    """Output tokens reported per choice (choice i gets choice_tokens[i % len]); empty: 7 each."""
    usage_mode: str = "all"
    """'all': usage covers every choice; 'first_choice': only the first, as llama.cpp's server does for
    n > 1; 'none': no usage object at all."""
    truncate_to_max_tokens: bool = False
    """Cut each answer to `max_tokens` words and say finish_reason 'length', as a server honouring the cap."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.statuses.clear()
            self.always_status = None
            self.ignore_n = False
            self.delay_s = 0.0
            self.delays.clear()
            self.answers.clear()
            self.choice_tokens.clear()
            self.usage_mode = "all"
            self.truncate_to_max_tokens = False
            self.requests.clear()

    def next_status(self) -> int:
        with self.lock:
            if self.always_status is not None:
                return self.always_status
            return self.statuses.pop(0) if self.statuses else 200

    def next_delay(self) -> float:
        with self.lock:
            return self.delays.pop(0) if self.delays else self.delay_s

    def choice(self, request_index: int, choice_index: int, max_tokens: int | None) -> tuple[str, int, str]:
        """(text, reported output tokens, finish_reason) of one choice."""
        text = f"sample {request_index}.{choice_index}"
        if self.answers:
            text = self.answers[choice_index % len(self.answers)]
        tokens = self.choice_tokens[choice_index % len(self.choice_tokens)] if self.choice_tokens else 7
        if self.truncate_to_max_tokens and max_tokens is not None and len(text.split()) > max_tokens:
            return " ".join(text.split()[:max_tokens]), max_tokens, "length"
        return text, tokens, "stop"


def _handler_for(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with state.lock:
                state.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                index = len(state.requests)
            status = state.next_status()  # before the delay, so a late handler cannot take the next test's status
            delay = state.next_delay()
            if delay:
                time.sleep(delay)
            if status == 200 and self.path.endswith("/chat/completions"):
                n = 1 if state.ignore_n else int(body.get("n", 1))
                choices = [state.choice(index, i, body.get("max_tokens")) for i in range(n)]
                payload: dict[str, Any] = {
                    "id": f"chatcmpl-{index}",
                    "object": "chat.completion",
                    "created": 1700000000,
                    "model": body.get("model", "fake-model"),
                    "choices": [
                        {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                        for i, (text, _, finish) in enumerate(choices)
                    ],
                }
                output_tokens = choices[0][1] if state.usage_mode == "first_choice" else sum(t for _, t, _ in choices)
                if state.usage_mode != "none":
                    payload["usage"] = {
                        "prompt_tokens": 11,
                        "completion_tokens": output_tokens,
                        "total_tokens": 11 + output_tokens,
                    }
            else:
                status = status if status != 200 else 404
                payload = {"error": {"message": f"fake server says {status}", "type": "fake", "code": str(status)}}
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out on purpose are not errors here


def serve_fake_openai() -> Iterator[FakeOpenAI]:
    """Start the server on a random port, yield its state, stop it."""
    state = FakeOpenAI()
    server = _QuietServer(("127.0.0.1", 0), _handler_for(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
