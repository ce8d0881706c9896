# HAND-WRITTEN STAND-IN (not the output of any model): the sound memory reward of the crafter/collect-wood
# stand-in answers (reward_coder/standins/_build_crafter.py, iteration 0, candidate 0).
import numpy as np

COLLECT_WOOD = 6  # index of collect_wood in unlocked / unlocked_now
DO = 5  # action index of `do`


def compute_reward(state, action, next_state, memory):
    n = len(action)
    first_wood = 10.0 * next_state.unlocked_now[:, COLLECT_WOOD]
    approach = np.zeros(n)
    explore = np.zeros(n)
    for i in range(n):
        # pay for getting closer to a tree than ever before in this episode: stepping away and back pays nothing
        best = memory[i].get("best_tree_distance", 10.0)
        distance = float(next_state.tree_distance[i])
        if distance < best:
            approach[i] = 0.2 * (best - distance)
            memory[i]["best_tree_distance"] = distance
        # a small bonus for each new cell, from a fixed 64x64 grid (bounded memory)
        visited = memory[i].get("visited")
        if visited is None:
            visited = np.zeros((64, 64), dtype=bool)
            memory[i]["visited"] = visited
        x, y = int(next_state.position[i, 0]), int(next_state.position[i, 1])
        if not visited[x, y]:
            visited[x, y] = True
            explore[i] = 0.02
    facing_tree = (np.abs(next_state.tree_offset - next_state.facing).sum(axis=1) < 0.5) & (next_state.tree_distance < 1.5)
    chop = 0.1 * (facing_tree & (action == DO))
    reward = first_wood + approach + explore + chop
    return reward, {"first_wood": first_wood, "approach": approach, "explore": explore, "chop": chop}
