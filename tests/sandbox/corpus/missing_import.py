# expect: static:undefined-name
# bypass: runtime:runtime-error
def compute_reward(state, action, next_state):
    distance = np.linalg.norm(next_state.ee_pos - next_state.goal_pos, axis=1)
    return -distance, {"distance": -distance}
