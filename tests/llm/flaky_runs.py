"""How many demo-sized runs survive a flaky endpoint: the LLM traffic of `reward-coder demo` through the
product's own completer, against the fault-injecting server of fault_server.py.

A demo-sized run is the request sequence the demo makes (its stand-in journal: 2 designer requests of
3 samples, 3 repairs, 7 critic reviews), each request with its own prompt, sent through one
LiteLLMCompleter with its own cache folder, as `reward-coder run` builds it. The loop stops a run at
the first request that raises (state "interrupted"), so a run aborts when any of its requests raises.

    python tests/llm/flaky_runs.py --runs 100 --fault-rate 0.3 --out runs/measure/flaky.json

Waits between retries are shortened (`--backoff`) and the client timeout is short, so 100 runs take a
minute or two; the retry decisions are the product's own. Threads of split samples draw from the one
seeded fault stream in arrival order, so a rerun draws the same faults in nearly the same places.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_server import FAULTS, FaultyServer, serve_faulty  # noqa: E402

from reward_coder.resources import standins_dir  # noqa: E402
from reward_coder.types import CompletionRequest, Message  # noqa: E402

DEMO_JOURNAL = "pendulum-swing-up.handwritten-standin.jsonl"


def demo_requests() -> list[CompletionRequest]:
    """The demo's requests in order: purpose, iteration, label and n of each stand-in record."""
    requests = []
    for line in (standins_dir() / DEMO_JOURNAL).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        n = len(record["samples"])
        prompt = f"{record['purpose']} {record['iteration']} {record['label']}: write a reward"
        requests.append(
            CompletionRequest(
                messages=(Message("user", prompt),), n=n, purpose=record["purpose"],
                iteration=int(record["iteration"]), label=record["label"],
            )
        )
    return requests


def measure(runs: int, fault_rate: float, seed: int = 0, retries: int | None = None,
            split_samples: bool | None = None, timeout_s: float = 0.4, backoff_s: float = 0.005) -> dict[str, Any]:
    """Run `runs` demo-sized runs against one flaky server; count the aborted ones and what it cost."""
    from reward_coder.llm.litellm_provider import LiteLLMCompleter

    server = FaultyServer(fault_rate=fault_rate, seed=seed, slow_s=timeout_s + 0.4)
    serving = serve_faulty(server)
    next(serving)
    requests = demo_requests()
    aborted: list[dict[str, Any]] = []
    totals = {"http_requests": 0, "faults": 0, "samples_received": 0}
    by_fault = {fault: 0 for fault in FAULTS}
    started = time.monotonic()
    try:
        for run in range(runs):
            server.restart(seed * 100_000 + run)
            kwargs: dict[str, Any] = {"timeout_s": timeout_s, "backoff_s": backoff_s}
            if retries is not None:
                kwargs["max_retries"] = retries
            if split_samples is not None:
                kwargs["split_samples"] = split_samples
            with tempfile.TemporaryDirectory() as cache:
                completer = LiteLLMCompleter("openai/flaky", api_base=server.base_url, cache_dir=Path(cache),
                                             **kwargs)
                for number, request in enumerate(requests):
                    try:
                        totals["samples_received"] += len(completer.complete(request).samples)
                    except Exception as exc:  # noqa: BLE001 - any raise stops the run; it is what we count
                        aborted.append({"run": run, "request": number, "purpose": request.purpose,
                                        "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
                        break
            totals["http_requests"] += len(server.log)
            totals["faults"] += server.faults()
            for entry in server.log:
                if entry["outcome"] != "ok":
                    by_fault[entry["outcome"]] += 1
    finally:
        serving.close()
    return {
        "runs": runs,
        "aborted": len(aborted),
        "fault_rate": fault_rate,
        "seed": seed,
        "retries": retries if retries is not None else "default",
        "split_samples": split_samples if split_samples is not None else "default",
        "requests_per_run": len(requests),
        **totals,
        "faults_by_kind": by_fault,
        "wall_s": round(time.monotonic() - started, 1),
        "aborts": aborted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retries", type=int, default=None)
    parser.add_argument("--split-samples", choices=("default", "on", "off"), default="default")
    parser.add_argument("--label", default="", help="What code was measured (e.g. a commit).")
    parser.add_argument("--out", type=Path, default=None, help="JSON lines file the figures are appended to.")
    args = parser.parse_args()
    split = {"default": None, "on": True, "off": False}[args.split_samples]
    figures = measure(args.runs, args.fault_rate, args.seed, args.retries, split)
    figures["label"] = args.label
    summary = {k: v for k, v in figures.items() if k != "aborts"}
    print(json.dumps(summary))
    for abort in figures["aborts"][:5]:
        print("  aborted:", json.dumps(abort))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
