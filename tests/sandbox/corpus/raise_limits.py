# expect: static:no-import
# bypass: runtime:forbidden-syscall
import resource


def compute_reward(state, action, next_state):
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    forward = next_state.x_velocity
    return forward, {"forward": forward}
