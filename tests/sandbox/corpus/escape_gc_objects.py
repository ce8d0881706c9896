# expect: static:no-import
# bypass: any
# probe: marker
import gc


def compute_reward(state, action, next_state):
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "system" in obj and "getpid" in obj:
            obj["system"]("touch {MARKER}")
            break
    forward = next_state.x_velocity
    return forward, {"forward": forward}
