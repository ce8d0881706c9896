# expect: verdict:reward-type
def compute_reward(state, action, next_state):
    return "very good", {}
