"""`reward-coder doctor`: which isolation protects generated code here, and what else is available."""

from __future__ import annotations

import importlib.util
import os
import shutil

import typer

from reward_coder.cli.common import console, user_errors


@user_errors
def doctor() -> None:
    """Report the sandbox in force, the compute device and optional extras."""
    from reward_coder.sandbox.doctor import sandbox_health

    health = sandbox_health()
    status = health.isolation
    style = {"bwrap": "green", "rlimits": "yellow", "none": "red"}.get(status.level, "red")
    console.print(f"isolation in force: [{style}]{status.level}[/]", highlight=False)
    for line in health.lines():
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    if status.level != "bwrap":
        console.print("  runs refuse to start without bubblewrap unless you pass --allow-unsandboxed;"
                      " install it with `apt-get install bubblewrap`")
    try:
        import torch

        cuda = torch.cuda.is_available()
        device = f"cuda ({torch.cuda.get_device_name(0)})" if cuda else "cpu"
    except ImportError:
        device = "torch missing"
    console.print(f"device (--device auto): {device}; cpu cores: {os.cpu_count()}")
    for extra, module in [("metaworld", "metaworld"), ("crafter", "crafter"), ("ray", "ray"), ("minedojo", "minedojo")]:
        present = importlib.util.find_spec(module) is not None
        console.print(f"extra {extra}: {'installed' if present else 'not installed'}")
    keys = [k for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY") if os.environ.get(k)]
    console.print(f"LLM keys set: {', '.join(keys) if keys else 'none (use --model replay:PATH or ollama/...)'}")
    console.print(f"MUJOCO_GL: {os.environ.get('MUJOCO_GL', 'unset')}; ffmpeg: {'yes' if shutil.which('ffmpeg') else 'via imageio-ffmpeg if installed'}")
    if status.level == "none" or not health.worker_ok:
        raise typer.Exit(1)
