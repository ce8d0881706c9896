# expect: static:no-dunder-name
# bypass: any
# probe: marker
def compute_reward(state, action, next_state):
    __import__("os").system("touch {MARKER}")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
