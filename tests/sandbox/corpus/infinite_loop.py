# expect: runtime:timeout
def compute_reward(state, action, next_state):
    total = 0.0
    while True:
        total += 1.0
