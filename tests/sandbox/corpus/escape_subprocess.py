# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker processes
import subprocess


def compute_reward(state, action, next_state):
    subprocess.run(["touch", "{MARKER}"], check=False)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
