"""The wheel carries prompts/, envs/ and the stand-ins, and an installed copy finds them."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_data_and_finds_it(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    wheel = next(tmp_path.glob("reward_coder-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for template in (ROOT / "prompts").glob("*.j2"):
        assert f"reward_coder/_data/prompts/{template.name}" in names
    for card in (ROOT / "envs").glob("*.yaml"):
        assert f"reward_coder/_data/envs/{card.name}" in names
    assert any(n.startswith("reward_coder/standins/") and n.endswith(".jsonl") for n in names)

    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from reward_coder.resources import data_dir, standins_dir;"
        "print(data_dir('prompts')); print(data_dir('envs')); print(standins_dir())"
    )
    found = subprocess.run([sys.executable, "-c", probe, str(installed)], capture_output=True, text=True, check=True,
                           cwd=tmp_path).stdout.split()
    assert found[0] == str(installed / "reward_coder/_data/prompts")
    assert found[1] == str(installed / "reward_coder/_data/envs")
    assert list(Path(found[2]).glob("*.handwritten-standin.jsonl"))
