# expect: verdict:bad-return
def compute_reward(state, action, next_state):
    return [float(v) for v in next_state.x_velocity]
