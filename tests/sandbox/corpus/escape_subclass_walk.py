# expect: static:no-private-attribute
# bypass: any
# probe: marker
def compute_reward(state, action, next_state):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "_wrap_close":
            cls.__init__.__globals__["system"]("touch {MARKER}")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
