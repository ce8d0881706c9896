"""ReplayCompleter: exact / loose / auto answers, one-sample lines, folders, and what a miss says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reward_coder.errors import LLMConfigError, LLMError, ReplayMissError
from reward_coder.llm import ReplayCompleter
from reward_coder.types import CompletionRequest, Message


def _request(
    content: str = "design a reward", n: int = 2, iteration: int = 0, purpose: str = "designer"
) -> CompletionRequest:
    return CompletionRequest(
        messages=(Message("user", content),),
        n=n,
        purpose=purpose,
        task_key="cartpole/balance",
        iteration=iteration,
    )


def _record(samples: list[str], request: CompletionRequest | None = None, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "request_hash": request.request_hash() if request else None,
        "purpose": request.purpose if request else "designer",
        "task_key": request.task_key if request else "cartpole/balance",
        "iteration": request.iteration if request else 0,
        "model": "gpt-4o",
        "samples": samples,
        "prompt_tokens": 100,
        "completion_tokens": 40,
        "cost_usd": 0.01,
        "note": "",
    }
    return {**base, **fields}


def _write(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_exact_hit_returns_recorded_samples_at_no_cost(tmp_path: Path) -> None:
    request = _request()
    replay = ReplayCompleter(_write(tmp_path / "demo.jsonl", _record(["a", "b"], request)), mode="exact")

    completion = replay.complete(request)

    assert completion.samples == ("a", "b")
    assert completion.model == "replay:demo.jsonl"
    assert (completion.prompt_tokens, completion.completion_tokens, completion.cost_usd) == (100, 40, 0.0)


def test_exact_miss_names_request_file_and_what_is_recorded(tmp_path: Path) -> None:
    recorded = _request(iteration=0)
    path = _write(tmp_path / "demo.jsonl", _record(["a", "b"], recorded), _record(["c", "d"], _request(iteration=1)))
    changed = _request(content="design a better reward", iteration=1)

    with pytest.raises(ReplayMissError) as caught:
        ReplayCompleter(path, mode="exact").complete(changed)

    message = str(caught.value)
    assert isinstance(caught.value, LLMError) and "\n" not in message
    assert "purpose='designer'" in message and "task='cartpole/balance'" in message and "iteration=1" in message
    assert changed.request_hash() in message and str(path) in message
    assert "2 entries for designer/cartpole/balance (iterations 0, 1)" in message
    assert f"replay-loose:{path}" in message  # same labels exist: the prompt wording changed


def test_loose_concatenates_lines_in_file_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "demo.jsonl",
        _record(["a", "b"]),
        _record(["x"], purpose="critic"),
        _record(["c", "d"], prompt_tokens=10, completion_tokens=4),
    )
    completion = ReplayCompleter(path, mode="loose").complete(_request(content="anything", n=3))
    assert completion.samples == ("a", "b", "c")
    assert (completion.prompt_tokens, completion.completion_tokens) == (110, 44)


def test_loose_with_too_few_samples_says_how_many_exist(tmp_path: Path) -> None:
    path = _write(tmp_path / "demo.jsonl", _record(["a", "b"]), _record(["c"]))
    with pytest.raises(ReplayMissError, match="only 3 recorded samples .* n=4 were asked"):
        ReplayCompleter(path, mode="loose").complete(_request(n=4))


def test_loose_miss_for_unrecorded_iteration(tmp_path: Path) -> None:
    path = _write(tmp_path / "demo.jsonl", _record(["a", "b"]))
    with pytest.raises(ReplayMissError) as caught:
        ReplayCompleter(path, mode="loose").complete(_request(iteration=3))
    message = str(caught.value)
    assert "no recorded answer for purpose='designer' task='cartpole/balance' iteration=3" in message
    assert "1 entries for designer/cartpole/balance (iterations 0)" in message and "re-record" in message


def test_auto_prefers_exact_then_falls_back_to_loose(tmp_path: Path) -> None:
    request = _request(n=1)
    path = _write(tmp_path / "demo.jsonl", _record(["loose answer"]), _record(["exact answer"], request))
    replay = ReplayCompleter(path, mode="auto")

    assert replay.complete(request).samples == ("exact answer",)
    assert replay.complete(_request(content="edited prompt", n=1)).samples == ("loose answer",)
    with pytest.raises(ReplayMissError, match="auto mode"):
        replay.complete(_request(purpose="critic"))


def test_one_sample_per_line_with_sample_index(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "demo.jsonl",
        _record(["third"], sample_index=2),
        _record(["first"], sample_index=0),
        _record(["second"], sample_index=1),
    )
    assert ReplayCompleter(path, mode="loose").complete(_request(n=3)).samples == ("first", "second", "third")


def test_gap_in_sample_indices_is_a_miss(tmp_path: Path) -> None:
    path = _write(tmp_path / "demo.jsonl", _record(["first"], sample_index=0), _record(["third"], sample_index=2))
    with pytest.raises(ReplayMissError, match="only 1 recorded samples"):
        ReplayCompleter(path, mode="loose").complete(_request(n=3))


def test_folder_of_recordings_is_read_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "recorded"
    folder.mkdir()
    _write(folder / "b.jsonl", _record(["from b"]))
    _write(folder / "a.jsonl", _record(["from a"]))
    (folder / "notes.txt").write_text("not a recording")

    replay = ReplayCompleter(folder, mode="loose")

    assert replay.name == "replay:recorded"
    assert replay.complete(_request(n=2)).samples == ("from a", "from b")


def test_journaled_failures_are_not_answers(tmp_path: Path) -> None:
    failed = _record([], error={"type": "LLMUnavailableError", "message": "down"})
    path = _write(tmp_path / "demo.jsonl", failed, _record(["ok"]))
    assert ReplayCompleter(path, mode="loose").complete(_request(n=1)).samples == ("ok",)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "is not JSON"),
        ('["a list"]', "is not a JSON object"),
        ('{"purpose": "designer"}', "missing field 'samples'"),
        ('{"purpose": "designer", "samples": ["a", "b"], "sample_index": 0}', "exactly one sample"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "demo.jsonl"
    path.write_text(json.dumps(_record(["fine"])) + "\n\n" + line + "\n")
    with pytest.raises(LLMConfigError, match=reason) as caught:
        ReplayCompleter(path)
    assert f"{path}:3" in str(caught.value)


def test_bad_mode_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(LLMConfigError, match="unknown replay mode 'fuzzy'"):
        ReplayCompleter(tmp_path, mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(LLMConfigError, match="holds no \\*.jsonl files"):
        ReplayCompleter(tmp_path)


def test_loose_key_includes_the_label_so_repairs_of_different_candidates_differ(tmp_path):
    from reward_coder.llm import ReplayCompleter
    from reward_coder.types import CompletionRequest, Message

    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"purpose": "repair", "task_key": "t", "iteration": 0, "label": "c0-r0", "samples": ["fix zero"]}\n'
        '{"purpose": "repair", "task_key": "t", "iteration": 0, "label": "c2-r0", "samples": ["fix two"]}\n'
    )
    replay = ReplayCompleter(path, mode="loose")
    ask = lambda label: CompletionRequest((Message("user", "x"),), purpose="repair", task_key="t", label=label)
    assert replay.complete(ask("c2-r0")).samples == ("fix two",)
    assert replay.complete(ask("c0-r0")).samples == ("fix zero",)
    import pytest
    from reward_coder.errors import ReplayMissError

    with pytest.raises(ReplayMissError, match="label='c1-r0'"):
        replay.complete(ask("c1-r0"))
