# expect: verdict:terms-type
def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    return forward, [forward]
