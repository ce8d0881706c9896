# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: decent. Forward velocity only: it moves forward but falls, ending episodes early.


def compute_reward(state, action, next_state):
    forward = next_state.forward_velocity
    return forward, {"forward": forward}
