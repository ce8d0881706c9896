"""Ship the repository-level prompts/ and envs/ folders inside the wheel.

The design card fixes the layout (prompts/ and envs/ at the repository root). A wheel can only carry
files inside a package, so the build copies them to reward_coder/_data/; reward_coder.resources looks
there first and falls back to the repository root for editable installs.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent
DATA_DIRS = ("prompts", "envs")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        for name in DATA_DIRS:
            source = ROOT / name
            if source.is_dir():
                target = Path(self.build_lib) / "reward_coder" / "_data" / name
                shutil.copytree(source, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithData})
