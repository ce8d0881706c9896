# expect: static:no-format-attribute
# bypass: any
def compute_reward(state, action, next_state):
    leaked = "{0.__class__.__base__.__subclasses__}".format(action)
    if "built-in" not in leaked:
        raise ValueError(leaked)
    forward = next_state.x_velocity
    return forward, {"forward": forward}
