# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: marker
import importlib


def compute_reward(state, action, next_state):
    os = importlib.import_module("os")
    fd = os.open("{MARKER}", os.O_CREAT | os.O_WRONLY)
    os.write(fd, b"escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
