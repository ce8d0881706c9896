# HAND-WRITTEN STAND-IN (not the output of any model): a staged reward for crafter/make-wood-pickaxe with
# per-episode memory. Milestones are paid once (unlocked_now); wood is paid per piece only for the first
# three pieces of the episode (two for the table, one for the pickaxe), so collecting cannot be farmed;
# approaching a tree, then the table, pays only for a new best distance kept in memory.
import numpy as np

COLLECT_WOOD, PLACE_TABLE, MAKE_WOOD_PICKAXE = 6, 20, 15
WOOD_NEEDED = 3


def compute_reward(state, action, next_state, memory):
    n = len(action)
    milestones = (1.0 * next_state.unlocked_now[:, COLLECT_WOOD] + 3.0 * next_state.unlocked_now[:, PLACE_TABLE]
                  + 10.0 * next_state.unlocked_now[:, MAKE_WOOD_PICKAXE])
    new_wood = next_state.achievement_counts[:, COLLECT_WOOD] - state.achievement_counts[:, COLLECT_WOOD]
    wood = 0.5 * np.where(next_state.achievement_counts[:, COLLECT_WOOD] <= WOOD_NEEDED, np.maximum(new_wood, 0.0), 0.0)
    approach = np.zeros(n)
    for i in range(n):
        has_table = next_state.unlocked[i, PLACE_TABLE] > 0
        key = "best_table_distance" if has_table else "best_tree_distance"
        distance = float(next_state.table_distance[i] if has_table else next_state.tree_distance[i])
        best = memory[i].get(key, 10.0)
        if distance < best:
            approach[i] = 0.1 * (best - distance)
            memory[i][key] = distance
    reward = milestones + wood + approach
    return reward, {"milestones": milestones, "wood": wood, "approach": approach}
