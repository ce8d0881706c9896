# expect: static:no-import
# bypass: runtime:forbidden-syscall
# probe: processes
import threading
import time


def compute_reward(state, action, next_state):
    while True:
        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
