"""On-disk cache of completions, so rerunning a run (or a test) does not pay twice for the same prompt.

One JSON file per answer, written atomically, so concurrent requests and a killed process never leave
a half-written entry that a later run would trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from reward_coder.types import Completion, CompletionRequest


def cache_key(model: str, request: CompletionRequest, api_base: str | None) -> str:
    """Key of one answer: model, endpoint and what the model sees (request_hash + max_tokens)."""
    # request_hash() leaves out max_tokens, but a shorter limit truncates the answer, so it is part of the key.
    blob = json.dumps([model, api_base or "", request.request_hash(), request.max_tokens])
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class CompletionCache:
    """A folder of `<key>.json` files holding `Completion.to_dict()`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def get(self, key: str) -> Completion | None:
        """The cached answer marked `cached=True` with cost 0 (nothing is spent), or None."""
        path = self.directory / f"{key}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            completion = Completion.from_dict(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError, KeyError):
            # An unreadable entry is a miss: the answer is fetched again and the entry rewritten.
            return None
        return replace(completion, cached=True, cost_usd=0.0, latency_s=0.0, retries=())

    def put(self, key: str, completion: Completion) -> None:
        """Store an answer atomically (write to a temp file, then rename)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(completion.to_dict(), handle, ensure_ascii=False)
            os.replace(tmp, self.directory / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def discard(self, key: str) -> None:
        """Remove an entry if present (a partial answer once its request is answered in full)."""
        (self.directory / f"{key}.json").unlink(missing_ok=True)
