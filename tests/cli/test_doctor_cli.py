"""`reward-coder doctor` says which isolation is in force, from a live worker."""

from typer.testing import CliRunner

from reward_coder.cli.main import app


def test_doctor_reports_bwrap_and_a_live_worker():
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "isolation in force: bwrap" in text
    assert "sandbox worker: ok (host uid 65534" in text


def test_doctor_reports_the_fallback_and_the_refusal(monkeypatch):
    monkeypatch.setenv("REWARD_CODER_NO_BWRAP", "1")
    from reward_coder.sandbox import detect_isolation

    detect_isolation(refresh=True)
    try:
        result = CliRunner().invoke(app, ["doctor"])
        text = " ".join(result.stdout.split())
        assert "isolation in force: rlimits" in text
        assert "--allow-unsandboxed" in text
    finally:
        monkeypatch.delenv("REWARD_CODER_NO_BWRAP")
        detect_isolation(refresh=True)


def test_doctor_lists_which_providers_have_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "GROQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MISTRAL_API_KEY", "fake")
    result = CliRunner().invoke(app, ["doctor"])
    [ready] = [line for line in result.stdout.splitlines() if line.startswith("LLM providers with keys:")]
    assert "mistral" in ready and "openai" not in ready and "groq" not in ready
    text = " ".join(result.stdout.split())
    assert "openai: not set: OPENAI_API_KEY" in text and "groq: not set: GROQ_API_KEY" in text
