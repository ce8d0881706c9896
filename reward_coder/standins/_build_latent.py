"""Writes the hand-written stand-in answers of latent mode (factor designer and verifier prompts).

    python reward_coder/standins/_build_latent.py reward_coder/standins

Every answer below was written by hand by the reward-coder developers; none is the output of a model.
They include broken answers on purpose (a wrong shape, an unknown field, a missing FACTORS list, a
duplicated and a constant factor) so the checks and the verifier's consolidation are exercised offline.
"""
import json
import sys
from pathlib import Path

NOTE = "HAND-WRITTEN STAND-IN: not the output of any real model"


def fence(code, before=""):
    return (before + "\n\n```python\n" + code.strip("\n") + "\n```\n").strip() + "\n"


def record(purpose, task, samples, note):
    return json.dumps({"purpose": purpose, "task_key": task, "iteration": 0, "label": "",
                       "model": "handwritten-standin", "samples": samples, "request_hash": None,
                       "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "note": NOTE + ": " + note})


# ------------------------------------------------------------------ halfcheetah/run-forward-episodic
CHEETAH = "halfcheetah/run-forward-episodic"
cheetah_sound = fence('''import numpy as np

FACTORS = (
    ("forward_speed", "torso velocity along +x after the step, m/s"),
    ("torque_effort", "sum of squared motor commands of the step"),
    ("upright", "cosine of the torso pitch: 1 level, -1 upside down"),
    ("torso_height", "height of the torso above the floor, m"),
)

def compute_factors(state, action, next_state):
    forward = next_state.forward_velocity
    effort = np.sum(action ** 2, axis=1)
    upright = np.cos(next_state.torso_angle)
    height = next_state.torso_height
    return np.stack([forward, effort, upright, height], axis=1)
''', "Four factors: how fast the cheetah runs, how much torque it spends, whether it stays upright, and its height.")
cheetah_gait = fence('''import numpy as np

FACTORS = (
    ("progress", "forward displacement of the torso over the step, m"),
    ("speed", "forward velocity of the torso, m/s"),
    ("effort", "mean squared motor command"),
    ("pitch_rate", "absolute pitch rate of the torso, rad/s"),
    ("feet_down", "number of feet touching the floor (0, 1 or 2)"),
)

def compute_factors(state, action, next_state):
    progress = next_state.x_position - state.x_position
    speed = next_state.forward_velocity
    effort = np.mean(action ** 2, axis=1)
    pitch_rate = np.abs(next_state.torso_angular_velocity)
    feet_down = np.sum(next_state.foot_contact, axis=1)
    return np.stack([progress, speed, effort, pitch_rate, feet_down], axis=1)
''', "Progress and speed measure running; effort, pitch rate and foot contacts describe the gait.")
cheetah_wrong_shape = fence('''import numpy as np

FACTORS = (
    ("forward_speed", "torso velocity along +x, m/s"),
    ("effort", "sum of squared motor commands"),
)

def compute_factors(state, action, next_state):
    forward = next_state.forward_velocity
    effort = np.sum(action ** 2, axis=1)
    return np.stack([forward, effort])
''', "Speed and effort are the two things the episode score is made of.")
cheetah_unknown_field = fence('''import numpy as np

FACTORS = (
    ("speed", "torso velocity along +x, m/s"),
    ("stride", "how far the feet reach, m"),
)

def compute_factors(state, action, next_state):
    speed = next_state.forward_velocity
    stride = np.abs(next_state.foot_position[:, 0] - next_state.foot_position[:, 1])
    return np.stack([speed, stride], axis=1)
''', "Speed and stride length.")
cheetah_verifier = fence('''import numpy as np

FACTORS = (
    ("forward_speed", "torso velocity along +x after the step, m/s"),
    ("torque_effort", "sum of squared motor commands of the step"),
    ("upright", "cosine of the torso pitch: 1 level, -1 upside down"),
    ("pitch_rate", "absolute pitch rate of the torso, rad/s"),
    ("feet_down", "number of feet touching the floor (0, 1 or 2)"),
)

def compute_factors(state, action, next_state):
    forward = next_state.forward_velocity
    effort = np.sum(action ** 2, axis=1)
    upright = np.cos(next_state.torso_angle)
    pitch_rate = np.abs(next_state.torso_angular_velocity)
    feet_down = np.sum(next_state.foot_contact, axis=1)
    return np.stack([forward, effort, upright, pitch_rate, feet_down], axis=1)
''', "Candidates 0 and 1 passed. 'progress' in candidate 1 nearly repeats speed (displacement over one step), "
     "and torso_height adds little beyond 'upright'; I keep speed, effort, uprightness, pitch rate and foot contacts.")

# ------------------------------------------------------------------ hopper/hop-forward-episodic
HOPPER = "hopper/hop-forward-episodic"
hopper_sound = fence('''import numpy as np

FACTORS = (
    ("forward_speed", "torso velocity along +x after the step, m/s"),
    ("healthy", "1.0 while the torso is above 0.7 m and within 0.2 rad of upright, else 0.0"),
    ("torque_effort", "sum of squared motor commands of the step"),
    ("tilt", "absolute torso pitch, rad"),
)

def compute_factors(state, action, next_state):
    forward = next_state.forward_velocity
    healthy = ((next_state.torso_height > 0.7) & (np.abs(next_state.torso_angle) < 0.2)).astype(np.float64)
    effort = np.sum(action ** 2, axis=1)
    tilt = np.abs(next_state.torso_angle)
    return np.stack([forward, healthy, effort, tilt], axis=1)
''', "Speed, staying healthy, effort and tilt: the episode score rewards the first two and charges the third.")
hopper_duplicates = fence('''import numpy as np

FACTORS = (
    ("speed", "forward velocity, m/s"),
    ("speed_kmh", "forward velocity, km/h"),
    ("height", "torso height, m"),
    ("always_one", "a bias term"),
)

def compute_factors(state, action, next_state):
    speed = next_state.forward_velocity
    speed_kmh = 3.6 * next_state.forward_velocity
    height = next_state.torso_height
    always_one = np.ones_like(speed)
    return np.stack([speed, speed_kmh, height, always_one], axis=1)
''', "Speed (in two units, to be safe), height, and a bias.")
hopper_no_factors = fence('''import numpy as np

def compute_factors(state, action, next_state):
    return np.stack([next_state.forward_velocity, next_state.torso_height], axis=1)
''', "Speed and height.")
hopper_nan = fence('''import numpy as np

FACTORS = (
    ("speed", "forward velocity, m/s"),
    ("log_height", "log of the height above a fallen hopper's torso, log m"),
)

def compute_factors(state, action, next_state):
    speed = next_state.forward_velocity
    log_height = np.log(next_state.torso_height - 1.2)
    return np.stack([speed, log_height], axis=1)
''', "Speed, and the log of height so small gains near the ground count.")
hopper_verifier = fence('''import numpy as np

FACTORS = (
    ("forward_speed", "torso velocity along +x after the step, m/s"),
    ("healthy", "1.0 while the torso is above 0.7 m and within 0.2 rad of upright, else 0.0"),
    ("torque_effort", "sum of squared motor commands of the step"),
    ("tilt", "absolute torso pitch, rad"),
    ("torso_height", "height of the torso above the floor, m"),
)

def compute_factors(state, action, next_state):
    forward = next_state.forward_velocity
    healthy = ((next_state.torso_height > 0.7) & (np.abs(next_state.torso_angle) < 0.2)).astype(np.float64)
    effort = np.sum(action ** 2, axis=1)
    tilt = np.abs(next_state.torso_angle)
    height = next_state.torso_height
    return np.stack([forward, healthy, effort, tilt, height], axis=1)
''', "Candidate 0 is sound; from candidate 1 I keep torso height (speed_kmh duplicates speed and always_one is "
     "constant, so both go).")


def main(out: Path) -> None:
    files = {
        "halfcheetah-run-forward-episodic.latent.handwritten-standin.jsonl": [
            record("latent_designer", CHEETAH, [cheetah_sound, cheetah_gait, cheetah_wrong_shape, cheetah_unknown_field],
                   "factor designer: two sound answers, one of wrong shape, one reading an unknown field"),
            record("latent_verifier", CHEETAH, [cheetah_verifier], "verifier: consolidates the two sound answers"),
        ],
        "hopper-hop-forward-episodic.latent.handwritten-standin.jsonl": [
            record("latent_designer", HOPPER, [hopper_sound, hopper_duplicates, hopper_no_factors, hopper_nan],
                   "factor designer: one sound, one with a duplicate and a constant factor, one without FACTORS, "
                   "one producing NaN"),
            record("latent_verifier", HOPPER, [hopper_verifier], "verifier: consolidates the two usable answers"),
        ],
    }
    for name, lines in files.items():
        (out / name).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
