"""Open-world environments (Auto MC-Reward's setting): Crafter and MineDojo.

- `crafter_env`: Crafter as a gymnasium env with a compact symbolic observation (default) or its 64x64
  pixels, and the game facts (items, materials, achievements) the cards and the adapter share.
- `episodes`: per-episode facts of an open-world evaluation (achievements reached, death and its cause,
  steps to first success, whether the agent stayed in one small area) and the Crafter score.
- `minedojo`: maps MineDojo's observation dict and actions to the same named fields and actions.

The adapters that turn game state into a card's named fields live with the other adapters, in
`reward_coder/envs/adapters/crafter.py` and `reward_coder/envs/adapters/minedojo.py`.
"""
