# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: listener
import socket


def compute_reward(state, action, next_state):
    connection = socket.create_connection(("127.0.0.1", {PORT}), timeout=0.5)
    connection.sendall(b"escaped")
    forward = next_state.x_velocity
    return forward, {"forward": forward}
