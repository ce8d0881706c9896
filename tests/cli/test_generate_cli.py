"""`reward-coder generate` end to end on stand-ins, and every kind of bad input the issue names."""

import json

import pytest
from typer.testing import CliRunner

from reward_coder.cli.main import app

runner = CliRunner()


def invoke(*args, env=None):
    return runner.invoke(app, list(args), env=env)


def one_clear_line(result, *needles):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    stderr = result.stderr.strip()
    assert "Traceback" not in stderr and "Traceback" not in result.stdout
    assert sum(line.startswith("error:") for line in stderr.splitlines()) == 1, stderr
    text = stderr[stderr.index("error:"):]  # progress lines may come before it
    assert len(text.splitlines()) <= 4, text  # one message (rich may wrap a long line)
    for needle in needles:
        assert needle in " ".join(text.split()), text
    return text


def test_generate_offline_writes_checked_candidates(tmp_path):
    out = tmp_path / "gen"
    result = invoke("generate", "--task", "halfcheetah/run-backward", "--model", "replay:standins", "-k", "4", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [c["id"] for c in summary] == ["i0-c0", "i0-c1", "i0-c2", "i0-c3"]
    by_id = {c["id"]: c for c in summary}
    assert by_id["i0-c0"]["attempts"] == 1 and by_id["i0-c0"]["status"] == "ok"
    # the stand-in c1 reads a field that does not exist; the check says so and the repair fixes it
    assert "x_velocity" in by_id["i0-c1"]["repaired_from"][0]
    # c2 takes log of a negative number on real states: NaN is caught on real states, then repaired
    assert by_id["i0-c2"]["repaired_from"] and by_id["i0-c2"]["status"] == "ok"
    for candidate in summary:
        assert (out / "candidates" / f"{candidate['id']}.py").read_text().startswith("import numpy")
    journal = [json.loads(line) for line in (out / "llm_journal.jsonl").read_text().splitlines()]
    assert [r["purpose"] for r in journal] == ["designer", "repair", "repair", "repair"]
    assert (out / "prompts" / "1_user.txt").read_text().startswith("## Task\nMake the cheetah run backwards")
    assert "i0-c3" in result.stdout


def test_empty_task_is_refused(tmp_path):
    one_clear_line(invoke("generate", "   ", "--env", "pendulum", "--model", "replay:standins", "--out", str(tmp_path)), "task is empty")


def test_unknown_env_names_the_fix(tmp_path):
    one_clear_line(invoke("generate", "fly", "--env", "Quadcopter-v9", "--model", "replay:standins", "--out", str(tmp_path)),
                   "Quadcopter-v9", "reward-coder envs")


def test_unknown_model(tmp_path):
    one_clear_line(invoke("generate", "stand", "--env", "hopper", "--model", "frobnicator-9000", "--out", str(tmp_path)), "frobnicator-9000")


def test_missing_key_names_the_variable(tmp_path):
    result = invoke("generate", "stand", "--env", "hopper", "--model", "gpt-4o", "--out", str(tmp_path),
                    env={"OPENAI_API_KEY": ""})
    one_clear_line(result, "OPENAI_API_KEY")


def test_unreachable_endpoint(tmp_path):
    result = invoke("generate", "stand", "--env", "hopper", "--model", "openai/local-model", "--api-base",
                    "http://127.0.0.1:9/v1", "--retries", "0", "--out", str(tmp_path))
    one_clear_line(result, "127.0.0.1:9")


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    one_clear_line(invoke("generate", "--task", "pendulum/swing-up", "--model", "replay:standins", "--out", str(blocker / "out")),
                   "cannot write to output folder")


def test_malformed_card(tmp_path):
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "broken.yaml").write_text("id: broken\nenv_id: Pendulum-v1\nfamily: classic\n")
    result = invoke("envs", env={"REWARD_CODER_CARDS": str(cards)})
    one_clear_line(result, "broken.yaml")


def test_replay_miss_is_a_clear_error(tmp_path):
    one_clear_line(invoke("generate", "do a backflip", "--env", "hopper", "--model", "replay:standins", "--out", str(tmp_path)),
                   "no recorded answer")


def test_without_bubblewrap_runs_refuse_unless_allowed(tmp_path, monkeypatch):
    from reward_coder.sandbox import detect_isolation

    monkeypatch.setenv("REWARD_CODER_NO_BWRAP", "1")
    detect_isolation(refresh=True)
    try:
        args = ["generate", "--task", "pendulum/swing-up", "--model", "replay:standins", "-k", "3"]
        one_clear_line(invoke(*args, "--out", str(tmp_path / "a")), "bubblewrap", "--allow-unsandboxed")
        allowed = invoke(*args, "--out", str(tmp_path / "b"), "--allow-unsandboxed")
        assert allowed.exit_code == 0, allowed.stderr
        assert "sandbox: rlimits" in allowed.stderr
    finally:
        monkeypatch.delenv("REWARD_CODER_NO_BWRAP")
        detect_isolation(refresh=True)


def test_an_env_that_fails_to_build(tmp_path):
    import yaml

    from reward_coder.resources import data_dir

    card = yaml.safe_load((data_dir("envs") / "pendulum.yaml").read_text())
    card.update(id="broken-pendulum", make_kwargs={"no_such_option": 1})
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "broken-pendulum.yaml").write_text(yaml.safe_dump(card))
    result = invoke("generate", "swing up", "--env", "broken-pendulum", "--model", "replay:standins",
                    "--out", str(tmp_path / "out"), env={"REWARD_CODER_CARDS": str(cards)})
    one_clear_line(result, "could not build env Pendulum-v1", "no_such_option")
