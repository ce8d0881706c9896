# expect: static:no-private-attribute
# bypass: any
# probe: marker
def compute_reward(state, action, next_state):
    try:
        1 / 0
    except ZeroDivisionError as err:
        frame = err.__traceback__.tb_frame
        while frame is not None:
            module = frame.f_globals.get("os")
            if module is not None:
                module.system("touch {MARKER}")
            frame = frame.f_back
    forward = next_state.x_velocity
    return forward, {"forward": forward}
