# expect: static:forbidden-builtin
# bypass: any
# probe: marker
def compute_reward(state, action, next_state):
    base = getattr(getattr((), "__cla" + "ss__"), "__ba" + "se__")
    for cls in getattr(base, "__subcl" + "asses__")():
        if getattr(cls, "__na" + "me__") == "_wrap_close":
            getattr(getattr(cls, "__in" + "it__"), "__glo" + "bals__")["system"]("touch {MARKER}")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
