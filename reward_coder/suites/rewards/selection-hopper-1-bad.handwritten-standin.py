# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: clearly bad. It pays for moving backwards.


def compute_reward(state, action, next_state):
    backwards = -next_state.forward_velocity
    return backwards, {"backwards": backwards}
