"""Writes the hand-written stand-in replay files: python reward_coder/standins/_build.py reward_coder/standins"""
import json, sys
from pathlib import Path

OUT = Path(sys.argv[1])
HEADER_NOTE = "HAND-WRITTEN STAND-IN: not the output of any real model"

def fence(code, prose_before="", prose_after=""):
    return (prose_before + "\n\n```python\n" + code.strip("\n") + "\n```\n" + ("\n" + prose_after if prose_after else "")).strip() + "\n"

def line(purpose, task, iteration, samples, label="", note=""):
    return json.dumps({"purpose": purpose, "task_key": task, "iteration": iteration, "label": label,
                       "model": "handwritten-standin", "samples": samples, "request_hash": None,
                       "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
                       "note": HEADER_NOTE + (": " + note if note else "")})

# ---------------------------------------------------------------- pendulum/swing-up (the demo)
T = "pendulum/swing-up"
p_i0_c0 = fence('''import numpy as np

def compute_reward(state, action, next_state)
    balanced = (next_state.cos_theta > 0.995) & (np.abs(next_state.angular_velocity) < 0.05)
    bonus = balanced.astype(np.float64)
    return bonus, {"balanced_bonus": bonus}
''', "The task is to be upright, so I pay a bonus exactly when the pole is vertical and still.")
p_i0_c0_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    # pay only when the pole is within ~6 degrees of upright and nearly still
    balanced = (next_state.cos_theta > 0.995) & (np.abs(next_state.angular_velocity) < 0.05)
    bonus = balanced.astype(np.float64)
    effort = 0.001 * np.sum(action ** 2, axis=1)
    return bonus - effort, {"balanced_bonus": bonus, "effort": -effort}
''', "You are right, the colon was missing. Here is the corrected function.")
p_i0_c1 = fence('''import numpy as np

ENERGY_WEIGHT = 0.05

def compute_reward(state, action, next_state):
    # uprightness in [-1, 1]
    height = next_state.cos_theta
    # kinetic energy helps the pendulum swing up from the bottom
    swing_energy = ENERGY_WEIGHT * next_state.angular_velocity ** 2
    reward = height + swing_energy
    return reward, {"height": height, "swing_energy": swing_energy}
''', "Reaching the top needs energy, so I reward both height and the kinetic energy of the swing.",
 "The energy term encourages the pumping motion that a weak motor needs.")
p_i0_c2 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    angle_cost = 0.1 * np.abs(next_state.theta)
    effort = action ** 2
    reward = -angle_cost - effort
    return reward, {"angle": -angle_cost, "effort": -effort}
''', "A cost on the angle from upright, and a cost on torque so the controller is economical.")
p_i0_c2_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    angle_cost = 0.1 * np.abs(next_state.theta)
    # torque is expensive: sum over the action dimension so the shape is (n_envs,)
    effort = np.sum(action ** 2, axis=1)
    reward = -angle_cost - effort
    return reward, {"angle": -angle_cost, "effort": -effort}
''', "Fixed: the effort term is now summed over the action dimension.")
critic_i0_c0 = """VERDICT: accept
NOTES:
- 'balanced_bonus' is zero everywhere except within ~6 degrees of upright at almost zero speed; from a hanging start the policy sees almost no signal, learning may be slow.
"""
critic_i0_c1 = """VERDICT: accept
NOTES:
- 'swing_energy' rewards angular velocity everywhere, including at the top, which may encourage spinning; consider gating it on cos_theta < 0.
- 'height' and 'swing_energy' are of similar scale on sampled states, so neither drowns the other.
"""
critic_i0_c2 = """VERDICT: revise
NOTES:
- 'effort' uses the full torque squared (up to 4 per step) while 'angle' is at most 0.31: the effort term dominates by about 10x, and the cheapest policy is to never push, which cannot swing the pole up.
```python
import numpy as np

def compute_reward(state, action, next_state):
    angle_cost = 0.1 * np.abs(next_state.theta)
    effort = 0.5 * np.sum(action ** 2, axis=1)
    reward = -angle_cost - effort
    return reward, {"angle": -angle_cost, "effort": -effort}
```
"""
p_i1_c0 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    # dense uprightness: +1 at the top, -1 hanging
    height = next_state.cos_theta
    # damp the swing only near the top, so pumping from below is not punished
    near_top = np.clip(next_state.cos_theta, 0.0, 1.0)
    damping = 0.1 * near_top * next_state.angular_velocity ** 2
    effort = 0.001 * np.sum(action ** 2, axis=1)
    reward = height - damping - effort
    return reward, {"height": height, "damping": -damping, "effort": -effort}
''', "Last iteration the energy term made the pendulum spin, the narrow bonus gave no signal, and the torque cost stopped all motion. "
     "I keep a dense height term, damp angular velocity only near the top, and keep the torque cost tiny.")
p_i1_c1 = fence('''import numpy as np


def compute_reward(state, action, next_state):
    # dense uprightness: +1 at the top, -1 hanging
    height = next_state.cos_theta

    # damp the swing only near the top,
    # so that pumping energy from below is not punished
    near_top = np.clip(next_state.cos_theta, 0.0, 1.0)
    damping = 0.1 * near_top * next_state.angular_velocity ** 2

    effort = 0.001 * np.sum(action ** 2, axis=1)
    reward = height - damping - effort
    return reward, {"height": height, "damping": -damping, "effort": -effort}
''', "Dense height, velocity damping near the top, a small torque cost.")
p_i1_c2 = fence('''import numpy as np
import os

def compute_reward(state, action, next_state):
    os.makedirs("/tmp/reward_logs", exist_ok=True)
    height = next_state.cos_theta
    spin = 0.05 * next_state.angular_velocity ** 2
    reward = height - spin
    return reward, {"height": height, "spin": -spin}
''', "I also log to disk for debugging.")
p_i1_c2_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    height = next_state.cos_theta
    spin = 0.05 * next_state.angular_velocity ** 2
    upright_bonus = (next_state.cos_theta > 0.9).astype(np.float64)
    reward = height - spin + 0.5 * upright_bonus
    return reward, {"height": height, "spin": -spin, "upright_bonus": 0.5 * upright_bonus}
''', "Removed the logging; only numpy is used now.")
critic_accept = """VERDICT: accept
NOTES:
- terms are bounded and of comparable scale; the velocity penalty cannot be avoided by ending episodes (Pendulum never terminates early).
"""
critic_i1_c2 = """VERDICT: accept
NOTES:
- 'spin' penalizes angular velocity everywhere, including during the swing-up, which may slow the pumping phase; the dense 'height' term should still carry it.
"""
pendulum = [
    line("designer", T, 0, [p_i0_c0, p_i0_c1, p_i0_c2], note="iteration 0: a syntax error, a reward that invites spinning, a wrong-shape effort term"),
    line("repair", T, 0, [p_i0_c0_fix], label="c0-r0"),
    line("repair", T, 0, [p_i0_c2_fix], label="c2-r0"),
    line("critic", T, 0, [critic_i0_c0], label="c0-r0"),
    line("critic", T, 0, [critic_i0_c1], label="c1-r0"),
    line("critic", T, 0, [critic_i0_c2], label="c2-r0"),
    line("critic", T, 0, [critic_accept], label="c2-r1"),
    line("designer", T, 1, [p_i1_c0, p_i1_c1, p_i1_c2], note="iteration 1: a fixed reward, the same code reformatted (trained once), a file-writing candidate"),
    line("repair", T, 1, [p_i1_c2_fix], label="c2-r0"),
    line("critic", T, 1, [critic_accept], label="c0-r0"),
    line("critic", T, 1, [critic_accept], label="c1-r0"),
    line("critic", T, 1, [critic_i1_c2], label="c2-r0"),
]

# ---------------------------------------------------------------- halfcheetah/run-backward (generate)
H = "halfcheetah/run-backward"
h_c0 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    backward_speed = -next_state.forward_velocity
    upright = np.cos(next_state.torso_angle)
    control = 0.1 * np.sum(np.square(action), axis=1)
    reward = backward_speed + 0.5 * upright - control
    return reward, {"backward_speed": backward_speed, "upright": 0.5 * upright, "control": -control}
''', "The cheetah should move in -x, so I reward negative forward velocity, keep the torso level and penalize large torques.")
h_c1 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    speed = -next_state.x_velocity
    return speed, {"speed": speed}
''', "Simple and direct: reward velocity in the -x direction.")
h_c1_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    # forward_velocity is +x; running backwards means making it negative
    speed = -next_state.forward_velocity
    flip_penalty = 0.5 * np.abs(np.sin(next_state.torso_angle))
    reward = speed - flip_penalty
    return reward, {"speed": speed, "flip_penalty": -flip_penalty}
''', "Corrected the field name to forward_velocity and added a penalty for flipping over.")
h_c2 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    progress = state.x_position - next_state.x_position
    # log-barrier on torso height to keep it off the ground
    height_term = np.log(next_state.torso_height - 0.3)
    reward = progress / 0.05 + 0.1 * height_term
    return reward, {"progress": progress / 0.05, "height": 0.1 * height_term}
''', "Progress in -x per second, plus a log barrier that keeps the torso above 0.3 m.")
h_c2_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    progress = (state.x_position - next_state.x_position) / 0.05
    # soft penalty instead of a log barrier: finite everywhere
    low_torso = np.clip(0.3 - next_state.torso_height, 0.0, None)
    reward = progress - 2.0 * low_torso
    return reward, {"progress": progress, "low_torso": -2.0 * low_torso}
''', "The log was undefined when the torso drops below 0.3 m; replaced by a clipped linear penalty.")
h_c3 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    speed = -next_state.forward_velocity
    effort = 0.1 * np.square(action)
    bonus = np.where(next_state.x_position == -10.0, 100.0, 0.0)
    return speed - effort, {"speed": speed, "effort": -effort, "goal_bonus": bonus}
''', "Speed backwards, an effort cost, and a bonus for reaching x = -10.")
h_c3_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    speed = -next_state.forward_velocity
    effort = 0.1 * np.sum(np.square(action), axis=1)
    reward = speed - effort
    return reward, {"speed": speed, "effort": -effort}
''', "Summed the effort over joints and dropped the goal bonus, which used exact equality on a continuous position.")
cheetah = [
    line("designer", H, 0, [h_c0, h_c1, h_c2, h_c3], note="a sound reward, an unknown field, a NaN log-barrier, a wrong-shape term with a never-firing bonus"),
    line("repair", H, 0, [h_c1_fix], label="c1-r0"),
    line("repair", H, 0, [h_c2_fix], label="c2-r0"),
    line("repair", H, 0, [h_c3_fix], label="c3-r0"),
]

# ---------------------------------------------------------------- hopper/hop-forward (generate)
P = "hopper/hop-forward"
o_c0 = fence('''import numpy as np

HEALTHY_HEIGHT = 0.8

def _alive(height, angle):
    return ((height > HEALTHY_HEIGHT) & (np.abs(angle) < 0.2)).astype(np.float64)

def compute_reward(state, action, next_state):
    forward = next_state.forward_velocity
    alive = _alive(next_state.torso_height, next_state.torso_angle)
    control = 1e-3 * np.sum(action ** 2, axis=1)
    reward = forward + alive - control
    return reward, {"forward": forward, "alive": alive, "control": -control}
''', "Forward speed, a bonus for staying healthy (tall and upright), and a small control cost. The helper keeps the health test readable.")
o_c1 = "I'm sorry, but I can't write code that controls a robot's actuators without more safety context."
o_c1_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    forward = next_state.forward_velocity
    tall = np.clip(next_state.torso_height - 0.7, 0.0, 0.5)
    reward = forward + tall
    return reward, {"forward": forward, "tall": tall}
''', "Understood, this is a simulation. Here is a reward for hopping forward while staying tall.")
o_c2 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    forward = next_state.forward_velocity
    alive = np.ones_like(forward)
    return [forward + alive], {"forward": forward, "alive": alive}
''', "Forward velocity plus an alive bonus.")
o_c2_fix = fence('''import numpy as np

def compute_reward(state, action, next_state):
    forward = next_state.forward_velocity
    alive = np.ones_like(forward)
    reward = forward + alive
    return reward, {"forward": forward, "alive": alive}
''', "Returned the reward as an array of shape (n_envs,) instead of a nested list.")
o_c3 = fence('''import numpy as np

def compute_reward(state, action, next_state):
    forward = next_state.forward_velocity
    reach = next_state.x_position
    reward = forward + 1e6 * reach
    return reward, {"forward": forward, "reach": 1e6 * reach}
''', "Reward forward speed and how far the hopper has gone, strongly.")
hopper = [
    line("designer", P, 0, [o_c0, o_c1, o_c2, o_c3], note="a sound reward with a helper, a refusal, a list instead of an array, a term of enormous scale"),
    line("repair", P, 0, [o_c1_fix], label="c1-r0"),
    line("repair", P, 0, [o_c2_fix], label="c2-r0"),
]

for name, lines in [("pendulum-swing-up", pendulum), ("halfcheetah-run-backward", cheetah), ("hopper-hop-forward", hopper)]:
    (OUT / f"{name}.handwritten-standin.jsonl").write_text("\n".join(lines) + "\n")
print("written")
