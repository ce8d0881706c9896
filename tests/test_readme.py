"""The README's first screen stays true: its two commands exist, and CI runs exactly its test command."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fenced_commands(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL)]


def test_first_screen_has_setup_and_test_commands():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    commands = _fenced_commands(first_screen)
    assert len(commands) == 2, commands
    setup, test = commands
    assert "pip install torch==2.13.0" in setup and "pip install -e" in setup and setup.endswith("reward-coder demo")
    assert "pytest" in test


def test_ci_runs_exactly_the_readme_test_command():
    test = _fenced_commands((ROOT / "README.md").read_text())[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"\n{test}\n" in ci
    extras = re.search(r"pip install[^\n]* -e \"\.\[([^\]]+)\]\"", ci).group(1)
    setup = _fenced_commands((ROOT / "README.md").read_text())[0]
    assert f'.[{extras}]' in setup  # a newcomer installs what CI installs


def test_public_api_named_in_the_readme_exists():
    import reward_coder

    for name in ("load_reward", "make_env", "get_card", "RewardWrapper", "RewardVecWrapper"):
        assert callable(getattr(reward_coder, name)), name
    from reward_coder.envs import env_fns

    assert callable(env_fns)


def test_every_command_in_the_readme_table_exists():
    from typer.testing import CliRunner

    from reward_coder.cli.main import app

    table_commands = set(re.findall(r"^\| `reward-coder (\w+)", (ROOT / "README.md").read_text(), re.MULTILINE))
    assert table_commands
    for command in table_commands:
        result = CliRunner().invoke(app, [command, "--help"])
        assert result.exit_code == 0, (command, result.stdout)
