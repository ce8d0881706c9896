# A hand-written stand-in reward (not any model's output) of deliberately known quality, for the selection
# study suite (reward_coder/suites/selection-study.yaml): which one does the selection pick?
# Quality: clearly bad. It pays for lifting the hand, which has nothing to do with the goal.


def compute_reward(state, action, next_state):
    lift = next_state.tcp_pos[:, 2]
    return lift, {"lift": lift}
