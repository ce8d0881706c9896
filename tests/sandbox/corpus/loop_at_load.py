# expect: static:module-statement
# bypass: runtime:timeout
while True:
    pass


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    return forward, {"forward": forward}
