"""`reward-coder doctor`: which isolation protects generated code here, and what else is available."""

from __future__ import annotations

import importlib.util
import os
import shutil

import typer

from reward_coder.cli.common import console, user_errors


DOCTOR_PROVIDERS = (
    ("openai", "gpt-4o"),
    ("anthropic", "anthropic/claude-sonnet-4-5"),
    ("gemini", "gemini/gemini-2.0-flash"),
    ("azure", "azure/<deployment>"),
    ("bedrock", "bedrock/anthropic.claude-3-sonnet-20240229-v1:0"),
    ("vertex_ai", "vertex_ai/gemini-2.0-flash"),
    ("groq", "groq/llama-3.1-8b-instant"),
    ("mistral", "mistral/codestral-latest"),
    ("deepseek", "deepseek/deepseek-coder"),
    ("openrouter", "openrouter/<vendor>/<model>"),
    ("together_ai", "together_ai/<vendor>/<model>"),
)
"""Providers `doctor` checks, each with a model string of it; any other litellm provider works the same way."""


def provider_keys() -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Providers whose credentials are set, and the others with the variables litellm says they lack."""
    from reward_coder.llm.routing import missing_variables

    ready, missing = [], []
    for provider, model in DOCTOR_PROVIDERS:
        names = missing_variables(model)
        if names:
            missing.append((provider, names))
        else:
            ready.append(provider)
    return ready, missing


@user_errors
def doctor() -> None:
    """Report the sandbox in force, the compute device and optional extras."""
    from reward_coder.sandbox.doctor import LAYERS, sandbox_health

    health = sandbox_health()
    status = health.isolation
    style = {"bwrap": "green", "rlimits": "yellow", "none": "red"}.get(status.level, "red")
    console.print(f"isolation in force: [{style}]{status.level}[/]", highlight=False)
    for line in health.lines():
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    if not status.is_sandbox:
        console.print("  runs refuse to start without bubblewrap and the syscall filter unless you pass "
                      "--allow-unsandboxed; install bubblewrap with `apt-get install bubblewrap`")
    console.print("what each layer protects:")
    for name, protects in LAYERS:
        console.print(f"  {name}: {protects}", highlight=False, soft_wrap=True)
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
    ready, missing = provider_keys()
    console.print(f"LLM providers with keys: {', '.join(ready) if ready else 'none (use --model replay:PATH, ollama/... or --api-base)'}",
                  highlight=False, soft_wrap=True)
    for provider, names in missing:
        console.print(f"  {provider}: not set: {', '.join(names)}", highlight=False, soft_wrap=True)
    console.print(f"MUJOCO_GL: {os.environ.get('MUJOCO_GL', 'unset')}; ffmpeg: {'yes' if shutil.which('ffmpeg') else 'via imageio-ffmpeg if installed'}")
    if status.level == "none" or not health.worker_ok:
        raise typer.Exit(1)
