# expect: static:forbidden-builtin
# bypass: runtime:runtime-error
# probe: passwd
def compute_reward(state, action, next_state):
    with open("/etc/passwd") as handle:
        raise ValueError(handle.read())
