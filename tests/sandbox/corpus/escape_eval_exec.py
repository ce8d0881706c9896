# expect: static:forbidden-builtin
# bypass: any
# probe: marker
def compute_reward(state, action, next_state):
    exec("import os; os.system('touch {MARKER}')")
    eval("__import__('os').system('touch {MARKER}')")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
