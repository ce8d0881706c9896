"""Writes the hand-written stand-in answers of the Crafter tasks:
python reward_coder/standins/_build_crafter.py reward_coder/standins

Every answer below was written by hand by the reward-coder developers, not by any model. They cover the
open-world traps the critic must catch: a farmed bonus (paid for a repeatable condition), a one-time
bonus without memory, a per-step penalty that makes dying the best policy, a broken candidate (an
unknown field), and a sound reward with per-episode memory.
"""
import json
import sys
from pathlib import Path

OUT = Path(sys.argv[1])
HEADER_NOTE = "HAND-WRITTEN STAND-IN: not the output of any real model"


def fence(code, prose_before="", prose_after=""):
    return (prose_before + "\n\n```python\n" + code.strip("\n") + "\n```\n" + ("\n" + prose_after if prose_after else "")).strip() + "\n"


def line(purpose, task, iteration, samples, label="", note=""):
    return json.dumps({"purpose": purpose, "task_key": task, "iteration": iteration, "label": label,
                       "model": "handwritten-standin", "samples": samples, "request_hash": None,
                       "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
                       "note": HEADER_NOTE + (": " + note if note else "")})


T = "crafter/collect-wood"

# c0: sound, with memory: a one-time bonus from unlocked_now, approach paid only for a new best distance,
# a bounded visited-cells grid for exploration
good = fence('''import numpy as np

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
''', "Wood comes from pressing `do` while facing a tree. I pay a one-time bonus when collect_wood is first "
     "unlocked, a shaping term for new closest approaches to a tree (kept in per-episode memory so it cannot "
     "be farmed), a small exploration bonus for new cells, and a small term for `do` while facing a tree.")

# c1: the farmed bonus: paid every step the player faces an adjacent tree, whether or not it collects
farmed = fence('''import numpy as np


def compute_reward(state, action, next_state):
    facing_tree = (np.abs(next_state.tree_offset - next_state.facing).sum(axis=1) < 0.5) & (next_state.tree_distance < 1.5)
    near_tree = 1.0 * facing_tree
    wood = 1.0 * (next_state.wood > state.wood)
    reward = near_tree + wood
    return reward, {"near_tree": near_tree, "wood": wood}
''', "Standing in front of a tree is the precondition for collecting wood, so I reward it every step, plus a "
     "point for each piece of wood.")

# c2: a one-time bonus without memory: 'a tree came into view' pays again every time it re-enters the view
no_memory = fence('''import numpy as np

NOT_IN_VIEW = 10.0


def compute_reward(state, action, next_state):
    found_tree = 3.0 * ((next_state.tree_distance < NOT_IN_VIEW) & (state.tree_distance >= NOT_IN_VIEW))
    got_wood = 10.0 * next_state.unlocked_now[:, 6]
    reward = found_tree + got_wood
    return reward, {"found_tree": found_tree, "got_wood": got_wood}
''', "Finding a tree is the first step: a bonus of 3 when a tree first comes into view, and 10 when wood is collected.")

# c3: broken (an unknown field); its repair adds a per-step penalty that makes dying pay
broken = fence('''import numpy as np


def compute_reward(state, action, next_state):
    wood = next_state.inventory_wood - state.inventory_wood
    return 5.0 * wood, {"wood": 5.0 * wood}
''', "Reward the change in wood held.")
broken_fix = fence('''import numpy as np


def compute_reward(state, action, next_state):
    wood = 5.0 * np.maximum(next_state.wood - state.wood, 0.0)
    # hurry: every step without wood costs
    time_cost = -0.5 * (next_state.wood < 1)
    reward = wood + time_cost
    return reward, {"wood": wood, "time_cost": time_cost}
''', "The field is `wood`. I also charge for every step without wood so the agent hurries.")

critic_good = """VERDICT: accept
NOTES:
- 'first_wood' reads unlocked_now, which is 1 only on the first collection of the episode: it cannot be farmed.
- 'approach' pays only for a new closest distance kept in memory; 'explore' uses a bounded 64x64 grid per env.
"""
critic_farmed = """VERDICT: revise
NOTES:
- 'near_tree' pays 1 every step the player faces an adjacent tree: a policy can stand there forever and farm it without pressing `do`; pay the collection itself instead, once per episode.
- 'wood' pays again after the wood is spent (placing a table) and collected again; use unlocked_now for a one-time bonus.
```python
import numpy as np

COLLECT_WOOD = 6


def compute_reward(state, action, next_state):
    first_wood = 10.0 * next_state.unlocked_now[:, COLLECT_WOOD]
    closer = 0.1 * np.clip(state.tree_distance - next_state.tree_distance, 0.0, 1.0)
    reward = first_wood + closer
    return reward, {"first_wood": first_wood, "closer": closer}
```
"""
critic_no_memory = """VERDICT: revise
NOTES:
- 'found_tree' is meant as a one-time bonus but has no memory: walking one cell out of view and back pays 3 again, every two steps, which outweighs 'got_wood' within four round trips.
```python
import numpy as np

NOT_IN_VIEW = 10.0


def compute_reward(state, action, next_state, memory):
    n = len(action)
    found_tree = np.zeros(n)
    for i in range(n):
        if next_state.tree_distance[i] < NOT_IN_VIEW and not memory[i].get("saw_tree", False):
            memory[i]["saw_tree"] = True
            found_tree[i] = 3.0
    got_wood = 10.0 * next_state.unlocked_now[:, 6]
    reward = found_tree + got_wood
    return reward, {"found_tree": found_tree, "got_wood": got_wood}
```
"""
critic_penalty = """VERDICT: revise
NOTES:
- 'time_cost' charges 0.5 on every step without wood; an episode that ends by death (walking into lava) stops the charges, so dying early pays more than searching for a tree far away.
- 'wood' pays again whenever wood is spent and collected again.
```python
import numpy as np


def compute_reward(state, action, next_state):
    first_wood = 10.0 * next_state.unlocked_now[:, 6]
    closer = 0.1 * np.clip(state.tree_distance - next_state.tree_distance, 0.0, 1.0)
    reward = first_wood + closer
    return reward, {"first_wood": first_wood, "closer": closer}
```
"""
critic_accept = """VERDICT: accept
NOTES:
- the one-time bonus reads unlocked_now; the remaining terms are bounded and cannot be farmed.
"""

# iteration 1: the designer keeps the memory reward and fixes its scale after the analysis
good_i1 = fence('''import numpy as np

COLLECT_WOOD = 6
DO = 5


def compute_reward(state, action, next_state, memory):
    n = len(action)
    first_wood = 10.0 * next_state.unlocked_now[:, COLLECT_WOOD]
    approach = np.zeros(n)
    for i in range(n):
        best = memory[i].get("best_tree_distance", 10.0)
        distance = float(next_state.tree_distance[i])
        if distance < best:
            approach[i] = 0.5 * (best - distance)
            memory[i]["best_tree_distance"] = distance
    facing_tree = (np.abs(next_state.tree_offset - next_state.facing).sum(axis=1) < 0.5) & (next_state.tree_distance < 1.5)
    chop = 0.2 * (facing_tree & (action == DO))
    hurt = 0.1 * np.maximum(state.health - next_state.health, 0.0)
    reward = first_wood + approach + chop - hurt
    return reward, {"first_wood": first_wood, "approach": approach, "chop": chop, "hurt": -hurt}
''', "The analysis shows the policies wander: I drop the exploration bonus, pay more for new closest approaches "
     "to a tree and for `do` while facing one, and add a small cost on health lost.")
nan_i1 = fence('''import numpy as np


def compute_reward(state, action, next_state):
    closeness = 1.0 / (next_state.tree_distance - 1.0)
    got_wood = 10.0 * next_state.unlocked_now[:, 6]
    return closeness + got_wood, {"closeness": closeness, "got_wood": got_wood}
''', "Closeness to the nearest tree as an inverse distance.")
nan_i1_fix = fence('''import numpy as np


def compute_reward(state, action, next_state):
    closeness = 1.0 / (1.0 + next_state.tree_distance)
    got_wood = 10.0 * next_state.unlocked_now[:, 6]
    return closeness + got_wood, {"closeness": closeness, "got_wood": got_wood}
''', "Fixed the division by zero next to a tree: 1 / (1 + distance) is finite everywhere.")

records = [
    line("designer", T, 0, [good, farmed, no_memory, broken],
         note="iteration 0: a sound reward with memory, a farmed bonus, a one-time bonus without memory, an unknown field"),
    line("repair", T, 0, [broken_fix], label="c3-r0"),
    line("critic", T, 0, [critic_good], label="c0-r0"),
    line("critic", T, 0, [critic_farmed], label="c1-r0"),
    line("critic", T, 0, [critic_no_memory], label="c2-r0"),
    line("critic", T, 0, [critic_penalty], label="c3-r0"),
    line("critic", T, 0, [critic_accept], label="c1-r1"),
    line("critic", T, 0, [critic_accept], label="c2-r1"),
    line("critic", T, 0, [critic_accept], label="c3-r1"),
    line("designer", T, 1, [good_i1, nan_i1, good, farmed],
         note="iteration 1: the memory reward retuned, a division by zero next to a tree, two repeats of iteration 0"),
    line("repair", T, 1, [nan_i1_fix], label="c1-r0"),
    line("critic", T, 1, [critic_good], label="c0-r0"),
    line("critic", T, 1, [critic_accept], label="c1-r0"),
    line("critic", T, 1, [critic_good], label="c2-r0"),
    line("critic", T, 1, [critic_farmed], label="c3-r0"),
    line("critic", T, 1, [critic_accept], label="c3-r1"),
]
(OUT / "crafter-collect-wood.handwritten-standin.jsonl").write_text("\n".join(records) + "\n")

# ---------------------------------------------------------------- crafter/make-wood-pickaxe
P = "crafter/make-wood-pickaxe"
staged = fence('''import numpy as np

COLLECT_WOOD, PLACE_TABLE, MAKE_WOOD_PICKAXE = 6, 20, 15
WOOD_NEEDED = 3  # two for the table, one for the pickaxe


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
''', "Three stages: wood, a table, the pickaxe. Each milestone is paid once (unlocked_now); the first three pieces "
     "of wood are paid; approaching a tree, then the table, pays only for a new best distance kept in memory.")
action_farm = fence('''import numpy as np

PLACE_TABLE_ACTION, MAKE_WOOD_PICKAXE_ACTION = 8, 11


def compute_reward(state, action, next_state):
    trying = 0.5 * ((action == PLACE_TABLE_ACTION) | (action == MAKE_WOOD_PICKAXE_ACTION))
    pickaxe = 10.0 * (next_state.wood_pickaxe > state.wood_pickaxe)
    wood = 1.0 * (next_state.wood > state.wood)
    reward = trying + pickaxe + wood
    return reward, {"trying": trying, "pickaxe": pickaxe, "wood": wood}
''', "Encourage the crafting actions directly, and pay for wood and for the pickaxe.")
sight_no_memory = fence('''import numpy as np

NOT_IN_VIEW = 10.0


def compute_reward(state, action, next_state):
    sees_table = 2.0 * ((next_state.table_distance < NOT_IN_VIEW) & (state.table_distance >= NOT_IN_VIEW))
    milestones = 2.0 * next_state.unlocked_now[:, 20] + 10.0 * next_state.unlocked_now[:, 15]
    reward = sees_table + milestones
    return reward, {"sees_table": sees_table, "milestones": milestones}
''', "A bonus when the table comes into view guides the agent back to it, and milestones for the table and the pickaxe.")
syntax_error = fence('''import numpy as np

def compute_reward(state, action, next_state):
    got = next_state.unlocked_now[:, 15]
    return 10.0 * got {"pickaxe": 10.0 * got}
''', "Pay the achievement itself.")
syntax_fix = fence('''import numpy as np


def compute_reward(state, action, next_state):
    pickaxe = 10.0 * next_state.unlocked_now[:, 15]
    table = 3.0 * next_state.unlocked_now[:, 20]
    wood = 1.0 * next_state.unlocked_now[:, 6]
    reward = pickaxe + table + wood
    return reward, {"pickaxe": pickaxe, "table": table, "wood": wood}
''', "Fixed the missing comma, and paid the two earlier milestones once each as well.")
critic_action_farm = """VERDICT: revise
NOTES:
- 'trying' pays 0.5 for pressing place_table or make_wood_pickaxe whether or not anything is placed or made: the policy can press them forever.
- 'wood' pays again after wood is spent and collected again; 'pickaxe' reads wood_pickaxe, which can rise again after a second pickaxe: use unlocked_now.
```python
import numpy as np


def compute_reward(state, action, next_state):
    milestones = (1.0 * next_state.unlocked_now[:, 6] + 3.0 * next_state.unlocked_now[:, 20]
                  + 10.0 * next_state.unlocked_now[:, 15])
    return milestones, {"milestones": milestones}
```
"""
critic_sight = """VERDICT: revise
NOTES:
- 'sees_table' is a one-time bonus without memory: stepping out of view of the table and back pays 2 again every two steps, more than the milestones within a few round trips.
```python
import numpy as np

NOT_IN_VIEW = 10.0


def compute_reward(state, action, next_state, memory):
    n = len(action)
    sees_table = np.zeros(n)
    for i in range(n):
        if next_state.table_distance[i] < NOT_IN_VIEW and not memory[i].get("saw_table", False):
            memory[i]["saw_table"] = True
            sees_table[i] = 2.0
    milestones = 2.0 * next_state.unlocked_now[:, 20] + 10.0 * next_state.unlocked_now[:, 15]
    reward = sees_table + milestones
    return reward, {"sees_table": sees_table, "milestones": milestones}
```
"""
critic_staged = """VERDICT: accept
NOTES:
- milestones read unlocked_now (once per episode); 'wood' is capped at the three pieces the recipe needs; 'approach' keeps its best distances in memory.
"""
critic_sparse_ok = """VERDICT: accept
NOTES:
- every term reads unlocked_now, so none can be farmed; the signal is sparse until the first wood.
"""
pickaxe_i1 = fence('''import numpy as np

COLLECT_WOOD, PLACE_TABLE, MAKE_WOOD_PICKAXE = 6, 20, 15
MAKE_WOOD_PICKAXE_ACTION = 11


def compute_reward(state, action, next_state, memory):
    n = len(action)
    milestones = (2.0 * next_state.unlocked_now[:, COLLECT_WOOD] + 4.0 * next_state.unlocked_now[:, PLACE_TABLE]
                  + 10.0 * next_state.unlocked_now[:, MAKE_WOOD_PICKAXE])
    approach = np.zeros(n)
    for i in range(n):
        has_table = next_state.unlocked[i, PLACE_TABLE] > 0
        key = "best_table_distance" if has_table else "best_tree_distance"
        distance = float(next_state.table_distance[i] if has_table else next_state.tree_distance[i])
        best = memory[i].get(key, 10.0)
        if distance < best:
            approach[i] = 0.3 * (best - distance)
            memory[i][key] = distance
    hurt = 0.1 * np.maximum(state.health - next_state.health, 0.0)
    reward = milestones + approach - hurt
    return reward, {"milestones": milestones, "approach": approach, "hurt": -hurt}
''', "The analysis shows the policies stay in one place: larger milestones, a stronger approach term kept in memory, a small cost on health lost.")

records = [
    line("designer", P, 0, [staged, action_farm, sight_no_memory, syntax_error],
         note="iteration 0: a staged memory reward, a farmed action bonus, a one-time bonus without memory, a syntax error"),
    line("repair", P, 0, [syntax_fix], label="c3-r0"),
    line("critic", P, 0, [critic_staged], label="c0-r0"),
    line("critic", P, 0, [critic_action_farm], label="c1-r0"),
    line("critic", P, 0, [critic_sight], label="c2-r0"),
    line("critic", P, 0, [critic_sparse_ok], label="c3-r0"),
    line("critic", P, 0, [critic_accept], label="c1-r1"),
    line("critic", P, 0, [critic_accept], label="c2-r1"),
    line("designer", P, 1, [pickaxe_i1, staged, syntax_fix, action_farm],
         note="iteration 1: the staged reward retuned, and three repeats of iteration 0"),
    line("critic", P, 1, [critic_staged], label="c0-r0"),
    line("critic", P, 1, [critic_staged], label="c1-r0"),
    line("critic", P, 1, [critic_sparse_ok], label="c2-r0"),
    line("critic", P, 1, [critic_action_farm], label="c3-r0"),
    line("critic", P, 1, [critic_accept], label="c3-r1"),
]
(OUT / "crafter-make-wood-pickaxe.handwritten-standin.jsonl").write_text("\n".join(records) + "\n")
