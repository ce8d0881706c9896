"""`reward-coder export`: the exported module runs without reward-coder and pays what the product pays."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from reward_coder import RewardWrapper
from reward_coder.cli.main import app
from reward_coder.envs import get_card, make_env
from reward_coder.export import ExportError, export_module
from reward_coder.reward import InProcessReward

PENDULUM = '''import numpy as np

def compute_reward(state, action, next_state):
    upright = next_state.cos_theta
    spin = 0.1 * np.abs(next_state.angular_velocity - state.angular_velocity)
    effort = 0.001 * np.sum(np.square(action), axis=1)
    return upright - spin - effort + 0.0 * next_state.theta, {"upright": upright, "spin": -spin, "effort": -effort}
'''

CHEETAH = '''import numpy as np

def compute_reward(state, action, next_state, memory):
    forward = next_state.x_position - state.x_position
    contact = 0.1 * next_state.foot_contact.sum(axis=1) + next_state.foot_height.min(axis=1)
    steps = np.zeros(action.shape[0])
    for i, slot in enumerate(memory):
        slot["n"] = slot.get("n", 0) + 1
        steps[i] = slot["n"]
    return forward + contact + 0.01 * steps, {"forward": forward, "contact": contact, "steps": 0.01 * steps}
'''

CARTPOLE = '''import numpy as np

def compute_reward(state, action, next_state):
    upright = next_state.pole_tip_height - 0.1 * np.abs(next_state.pole_tip_x)
    push = 0.01 * (action == 1)
    return upright + push, {"upright": upright, "push": push}
'''

REACHER = '''import numpy as np

def compute_reward(state, action, next_state):
    gap = np.linalg.norm(next_state.fingertip_pos - next_state.target_pos, axis=1)
    return -gap - next_state.distance_to_target, {"gap": -gap}
'''

RUNNER = textwrap.dedent('''
    import importlib.util, json, sys
    import numpy
    sys.modules["reward_coder"] = None          # importing reward_coder anywhere now fails
    path, actions_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spec = importlib.util.spec_from_file_location("exported_reward", path)
    found = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(found)
    env = found.RewardWrapper(found.make_env(max_episode_steps=6))
    env.reset(seed=seed)
    rewards = []
    for action in json.load(open(actions_path)):
        discrete = not hasattr(env.action_space, "low")
        _obs, reward, terminated, truncated, info = env.step(int(action) if discrete else
                                                             numpy.asarray(action, dtype=numpy.float32))
        rewards.append([reward, info["native_reward"]])
        if terminated or truncated:
            env.reset()
    loaded = sorted(name for name, module in sys.modules.items()
                    if (name == "reward_coder" or name.startswith("reward_coder.")) and module is not None)
    print(json.dumps({"rewards": rewards, "loaded": loaded}))
''')


def _product_rewards(card, code, actions, seed):
    env = RewardWrapper(make_env(card, max_episode_steps=6), InProcessReward(code, card.field_names()), card)
    env.reset(seed=seed)
    rewards = []
    for action in actions:
        discrete = not hasattr(env.action_space, "low")
        _obs, reward, terminated, truncated, info = env.step(int(action) if discrete else
                                                             np.asarray(action, dtype=np.float32))
        rewards.append([reward, info["native_reward"]])
        if terminated or truncated:
            env.reset()
    env.close()
    return rewards


def _run_isolated(tmp_path, module_text, actions, seed):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "exported_reward.py").write_text(module_text)
    (folder / "actions.json").write_text(json.dumps(actions))
    (folder / "runner.py").write_text(RUNNER)
    # -I: no PYTHONPATH, no user site, no script folder on the path; run from a folder without the project
    done = subprocess.run([sys.executable, "-I", str(folder / "runner.py"), str(folder / "exported_reward.py"),
                           str(folder / "actions.json"), str(seed)], cwd=folder, capture_output=True, text=True,
                          env={"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("card_id, code, action_dim", [
    ("pendulum", PENDULUM, 1),
    pytest.param("halfcheetah", CHEETAH, 6, id="halfcheetah-probed-fields-and-memory"),
    pytest.param("cartpole", CARTPOLE, 0, id="cartpole-declared-fields-discrete-actions"),
    pytest.param("reacher", REACHER, 2, id="reacher-declared-simulator-fields"),
])
def test_the_exported_module_pays_what_the_product_pays_without_reward_coder(tmp_path, card_id, code, action_dim):
    if card_id in ("halfcheetah", "reacher"):
        pytest.importorskip("mujoco")
    card = get_card(card_id)
    rng = np.random.default_rng(1)
    actions = (rng.integers(0, 2, size=14).tolist() if action_dim == 0
               else rng.uniform(-1, 1, size=(14, action_dim)).round(4).tolist())
    result = _run_isolated(tmp_path, export_module(code, card, origin="test"), actions, seed=3)
    assert result["loaded"] == []  # not one reward_coder module (the bundle goes by a private name)
    np.testing.assert_allclose(result["rewards"], _product_rewards(card, code, actions, seed=3), rtol=1e-9, atol=1e-12)


def test_a_reward_whose_names_clash_with_the_api_is_refused():
    clash = PENDULUM + "\n\ndef make_env():\n    return None\n"
    with pytest.raises(ExportError, match="make_env"):
        export_module(clash, get_card("pendulum"), origin="test")


def _fake_run(folder, best: str | None):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"instruction": "swing up", "env": "pendulum"}))
    (folder / "task.json").write_text(json.dumps({"key": "pendulum/swing-up", "env": "pendulum"}))
    if best is not None:
        (folder / "best.py").write_text(best)
    return folder


def test_export_command_writes_the_module_and_a_run_without_best_is_one_line(tmp_path):
    run = _fake_run(tmp_path / "run", PENDULUM)
    result = CliRunner().invoke(app, ["export", str(run)])
    assert result.exit_code == 0, result.output
    text = (run / "exported_reward.py").read_text()
    assert "def compute_reward" in text and "CARD = " in text and "import reward_coder" not in text
    out = tmp_path / "mine.py"
    assert CliRunner().invoke(app, ["export", str(run), "--out", str(out)]).exit_code == 0 and out.is_file()

    empty = _fake_run(tmp_path / "empty", None)
    result = CliRunner().invoke(app, ["export", str(empty)])
    assert result.exit_code == 2
    assert "has no best.py" in result.output and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) <= 3  # one error line, wrapped


def test_the_exported_batch_api_scores_a_vector_env_like_the_product(tmp_path):
    import importlib.util

    import gymnasium as gym

    from reward_coder import VectorRewardWrapper

    card = get_card("pendulum")
    path = tmp_path / "exported_pendulum.py"
    path.write_text(export_module(PENDULUM, card, origin="test"))
    spec = importlib.util.spec_from_file_location("exported_pendulum", path)
    found = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(found)
    ours = gym.vector.SyncVectorEnv([found.make_env for _ in range(3)])
    product = VectorRewardWrapper(gym.vector.SyncVectorEnv([lambda: make_env(card) for _ in range(3)]),
                                  InProcessReward(PENDULUM, card.field_names()), card)
    obs, info = ours.reset(seed=5)
    product.reset(seed=5)
    state = found.field_values(obs, found.vector_probes(info, 3))
    for action in np.random.default_rng(0).uniform(-2, 2, size=(5, 3, 1)).astype(np.float32):
        obs, _native, _te, _tr, info = ours.step(action)
        next_state = found.field_values(obs, found.vector_probes(info, 3))
        reward, _terms = found.score(state, action, next_state)
        np.testing.assert_allclose(reward, product.step(action)[1], rtol=1e-12)
        state = next_state
