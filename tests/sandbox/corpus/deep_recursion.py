# expect: runtime:runtime-error
def _down(depth):
    return _down(depth + 1) + 1


def compute_reward(state, action, next_state):
    _down(0)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
