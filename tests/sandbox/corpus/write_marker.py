# expect: static:forbidden-builtin
# bypass: runtime:forbidden-syscall
# probe: marker
def compute_reward(state, action, next_state):
    with open("{MARKER}", "w") as handle:
        handle.write("escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
