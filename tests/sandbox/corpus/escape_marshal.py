# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker
import marshal


def compute_reward(state, action, next_state):
    blob = marshal.dumps(compile("open('{MARKER}', 'w').write('escaped')", "x", "exec"))
    exec(marshal.loads(blob))
    forward = next_state.x_velocity
    return forward, {"forward": forward}
