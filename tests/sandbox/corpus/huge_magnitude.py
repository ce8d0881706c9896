# expect: verdict:reward-magnitude
def compute_reward(state, action, next_state):
    forward = next_state.x_velocity * 1e9
    return forward, {"forward": forward}
