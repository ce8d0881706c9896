# expect: static:no-dunder-name
# bypass: runtime:forbidden-syscall
# probe: marker
def compute_reward(state, action, next_state):
    opener = __builtins__["open"] if isinstance(__builtins__, dict) else __builtins__.open
    opener("{MARKER}", "w").write("escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
