# expect: runtime:memory-limit
def compute_reward(state, action, next_state):
    big = [0.0] * (10**10)
    return big, {}
