"""`reward-coder export RUN`: one Python file with a run's reward and its card's field accessors (pure text).

The file runs with numpy and gymnasium alone (plus the env's own simulator package), without reward-coder
installed. It holds, in this order:

1. the reward exactly as found (the run's `best.py`), at the top where it can be read and edited;
2. `CARD`, the card's environment and field descriptions (what each named field means, its unit, source);
3. the field accessors: reward-coder's own adapter for the card's family, and the FieldProbe that reads
   simulator-only fields at the same instant as the observation, bundled *as source* and imported under
   a private module name (`_rc_export_<hash>`) that cannot collide with an installed reward-coder. The
   fields are computed by the same code that computed them in training, so the rewards are the same;
4. a small API: `make_env()`, `field_values(obs, probes)`, `score(state, action, next_state)` and
   `RewardWrapper(env)`, a gymnasium wrapper that replaces the env's reward with the found one.

Only reward-coder's own adapters can be bundled (a card whose family is 'package.module:Class' names code
the export cannot vouch for); a reward whose top-level names clash with the API is refused with the names.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import pprint
import re
from dataclasses import asdict
from pathlib import Path

from reward_coder.errors import RewardCoderError
from reward_coder.types import EnvCard

PACKAGE = "reward_coder"
API_NAMES = ("CARD", "FIELDS_USED", "ENV_PACKAGE", "make_env", "field_values", "vector_probes", "score", "Reward",
             "RewardWrapper", "adapter")
"""Top-level names the export defines besides `_rc_*` ones; reward code may not define them too."""


class ExportError(RewardCoderError):
    """A run or reward that cannot be exported; the message says why and what to do."""


def _resolve(module: str | None, level: int, current: str, is_package: bool) -> str | None:
    if level == 0:
        return module
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _project_imports(tree: ast.AST, current: str, is_package: bool) -> set[str]:
    """reward_coder modules `tree` imports (at run time: `if TYPE_CHECKING:` blocks are skipped)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node.module, node.level, current, is_package)
            if module and module.split(".")[0] == PACKAGE:
                for alias in node.names:
                    child = f"{module}.{alias.name}"
                    found.add(child if importlib.util.find_spec(module) and _is_module(child) else module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def bundle_sources(roots: list[str]) -> dict[str, str]:
    """Module name -> source of `roots` and every reward_coder module they import, in a stable order."""
    sources: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in sources:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise ExportError(f"cannot bundle module '{name}': its source is not a .py file")
        source = Path(spec.origin).read_text(encoding="utf-8")
        sources[name] = source
        todo.extend(sorted(_project_imports(ast.parse(source), name, spec.submodule_search_locations is not None)))
    return dict(sorted(sources.items()))


_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)reward_coder(?=[\s.])", re.MULTILINE)


def _privatize(source: str, prefix: str) -> str:
    """Point the source's own imports of reward_coder at the bundle's private package name."""
    return _IMPORT.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{prefix}", source)


def _literal(text: str) -> str:
    """A readable string literal of `text` (a raw triple-quoted one when it can be, else repr)."""
    if "'''" not in text and not text.endswith("\\") and "\r" not in text:
        return "r'''" + text + "'''"
    return repr(text)


def _top_level_names(code: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _env_package(env_id: str) -> str | None:
    from reward_coder.envs.factory import _ENV_PACKAGES

    return next((module for prefix, module, _install in _ENV_PACKAGES if env_id.startswith(prefix)), None)


def export_module(code: str, card: EnvCard, *, origin: str) -> str:
    """The text of a self-contained module holding `code` (contract reward code) and `card`'s field accessors.

    `origin` says where the reward came from (a run folder), for the module's docstring.
    """
    from reward_coder.envs.adapters.base import get_adapter
    from reward_coder.reward.fields import fields_used

    try:
        tree = ast.parse(code)
    except SyntaxError as err:
        raise ExportError(f"the reward does not parse: {err.msg} (line {err.lineno})") from None
    if not any(isinstance(n, ast.FunctionDef) and n.name == "compute_reward" for n in tree.body):
        raise ExportError("the reward defines no top-level compute_reward(state, action, next_state)")
    if ":" in card.family:
        raise ExportError(f"card '{card.id}' uses your own adapter '{card.family}'; export bundles only "
                          "reward-coder's adapters: copy your adapter next to the exported reward instead")
    clash = sorted(n for n in _top_level_names(code) if n in API_NAMES or n.startswith("_rc_"))
    if clash:
        raise ExportError(f"the reward defines {', '.join(clash)}, a name the exported module needs for its own "
                          "API; rename it in the reward and export again")
    adapter_class = get_adapter(card.family)
    adapter_module = adapter_class.__module__
    sources = bundle_sources([adapter_module, "reward_coder.envs.probe"])
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:12]
    prefix = f"_rc_export_{digest}"
    bundled = "\n".join(f"    {name!r}: {_literal(_privatize(source, prefix))}," for name, source in sources.items())
    card_record = {
        "id": card.id, "env_id": card.env_id, "family": card.family, "make_kwargs": dict(card.make_kwargs),
        "max_episode_steps": card.train.max_episode_steps,
        "fields": [dict(asdict(spec), shape=list(spec.shape)) for spec in card.fields],
        "action": {"shape": list(card.action.shape) if card.action.shape else [],
                   "description": getattr(card.action, "description", "")},
    }
    used = fields_used(code, card.field_names())
    header = _HEADER.format(origin=origin, card=card.id, env_id=card.env_id, fields=", ".join(used) or "none")
    api = _API.format(
        card=pprint.pformat(card_record, sort_dicts=False, width=110),
        fields_used=repr(tuple(used)), env_package=repr(_env_package(card.env_id)), prefix=repr(prefix),
        adapter_module=repr(adapter_module[len(PACKAGE):]), adapter_class=repr(adapter_class.__name__),
        bundled=bundled,
    )
    return header + code.rstrip() + "\n\n\n" + api


_HEADER = '''"""A reward found by reward-coder, exported with its card's field accessors: runs without reward-coder.

Reward from: {origin}
Env card: {card} ({env_id}); the reward reads the fields: {fields}
Needs: numpy, gymnasium (and the env's simulator package). Use it like this:

    import exported_reward as found                  # this file
    env = found.RewardWrapper(found.make_env())      # a gymnasium env paying the found reward
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    info["native_reward"], info["reward_terms"]      # the env's own reward, and the found reward's terms

    # or in batch, in your own loop (a gymnasium.vector env of make_env()'s envs):
    state = found.field_values(obs, found.vector_probes(info, n_envs))   # {{field: (n_envs, ...) array}}
    reward, terms = found.score(state, actions, next_state)

The reward runs in your process, not in reward-coder's sandbox (it passed reward-coder's checks there).

Everything under "field accessors" below is reward-coder's own code for this card, bundled as it was when
exported: edit the reward above, not that.
"""

# ------------------------------------------------------------------------------------------------
# The reward, as found
# ------------------------------------------------------------------------------------------------

'''

_API = '''# ------------------------------------------------------------------------------------------------
# The card and its field accessors (generated by `reward-coder export`; do not edit)
# ------------------------------------------------------------------------------------------------

CARD = {card}
"""The env card: environment, make_kwargs, episode length and every named field (meaning, unit, source)."""
FIELDS_USED = {fields_used}
"""The fields the reward reads: the only ones computed (and probed from the simulator)."""
ENV_PACKAGE = {env_package}
"""Package to import before gymnasium.make, because importing it registers the env id (None: none)."""

_RC_PREFIX = {prefix}
_RC_ADAPTER = ({adapter_module}, {adapter_class})
_RC_SOURCES = {{
{bundled}
}}


def _rc_install():
    """Serve the bundled modules under the private package name (never touching an installed reward_coder)."""
    import importlib.abc
    import importlib.util
    import sys

    class _Bundle(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            if name != _RC_PREFIX and not name.startswith(_RC_PREFIX + "."):
                return None
            key = "reward_coder" + name[len(_RC_PREFIX):]
            package = any(k.startswith(key + ".") for k in _RC_SOURCES)
            if key not in _RC_SOURCES and not package:
                return None
            return importlib.util.spec_from_loader(name, self, is_package=package)

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            key = "reward_coder" + module.__name__[len(_RC_PREFIX):]
            if key in _RC_SOURCES:
                exec(compile(_RC_SOURCES[key], "<reward-coder export: " + key + ">", "exec"), module.__dict__)

    if not any(type(finder).__name__ == "_Bundle" and getattr(finder, "prefix", None) == _RC_PREFIX
               for finder in sys.meta_path):
        finder = _Bundle()
        finder.prefix = _RC_PREFIX
        sys.meta_path.append(finder)


class _RcField:
    def __init__(self, record):
        self.__dict__.update(record, shape=tuple(record["shape"]))


class _RcCard:
    """What an adapter reads of an env card."""

    def __init__(self, record):
        self.id, self.env_id, self.family = record["id"], record["env_id"], record["family"]
        self.make_kwargs = dict(record["make_kwargs"])
        self.fields = tuple(_RcField(spec) for spec in record["fields"])

    def field_names(self):
        return tuple(spec.name for spec in self.fields)


_rc_adapter = None


def adapter():
    """The card's adapter (reward-coder's own class), computing FIELDS_USED from obs and probes."""
    global _rc_adapter
    if _rc_adapter is None:
        import importlib

        _rc_install()
        module = importlib.import_module(_RC_PREFIX + _RC_ADAPTER[0])
        _rc_adapter = getattr(module, _RC_ADAPTER[1]).from_card(_RcCard(CARD), FIELDS_USED)
    return _rc_adapter


def make_env(render_mode=None, max_episode_steps=None):
    """The card's env, as reward-coder trained on it: gymnasium.make with the card's make_kwargs and
    episode length, the adapter's env fix (if any), and the probe that puts info["rc_probe"]."""
    import importlib

    import gymnasium

    if ENV_PACKAGE:
        importlib.import_module(ENV_PACKAGE)
    steps = max_episode_steps if max_episode_steps is not None else CARD["max_episode_steps"]
    env = gymnasium.make(CARD["env_id"], max_episode_steps=steps, render_mode=render_mode, **CARD["make_kwargs"])
    fields = adapter()
    env = fields.wrap_env(env)
    if not fields.needs_probe:
        return env
    probe = importlib.import_module(_RC_PREFIX + ".envs.probe")
    return probe.FieldProbe(env, fields)


def field_values(obs, probes):
    """{{field: float64 array (n_envs, ...)}} of FIELDS_USED from a batch of raw observations and, per env, the
    probe dict of the same instant (info["rc_probe"] of make_env's envs; {{}} when nothing is probed)."""
    import numpy

    return adapter().fields(numpy.asarray(obs), list(probes))


def vector_probes(info, n_envs):
    """The per-env probe dicts of a gymnasium.vector step or reset, whose info stacks info["rc_probe"] across
    envs (for field_values; the step that ends an episode: see gymnasium's autoreset_mode)."""
    stacked = info.get("rc_probe") or {{}}
    return [{{key: value[i] for key, value in stacked.items() if not key.startswith("_")}} for i in range(n_envs)]


class _RcView:
    """Named fields as read-only attributes (state.cos_theta), batch first."""

    __slots__ = ("_fields",)

    def __init__(self, fields):
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name):
        try:
            return object.__getattribute__(self, "_fields")[name]
        except KeyError:
            raise AttributeError("unknown field " + repr(name) + "; the export computes: " + ", ".join(FIELDS_USED)) from None

    def __getitem__(self, name):
        return self.__getattr__(name)

    def __contains__(self, name):
        return name in object.__getattribute__(self, "_fields")

    def __setattr__(self, name, value):
        raise AttributeError("state fields are read-only")


class Reward:
    """compute_reward as a batched callable: (state, action, next_state[, reset]) -> (reward, terms), float64
    arrays of shape (n_envs,). A reward with per-episode memory keeps one dict per env; `reset` names the
    rows whose episode starts with this call ('all' or indices), whose memory is emptied first."""

    def __init__(self):
        self.uses_memory = compute_reward.__code__.co_argcount >= 4
        self._memory = None

    def __call__(self, state, action, next_state, reset=None):
        import numpy

        action = numpy.asarray(action)
        if action.dtype.kind == "f":  # float64 batches, as reward-coder's wrappers pass them
            action = action.astype(numpy.float64)
        n = int(action.shape[0])
        args = [_RcView(state), action, _RcView(next_state)]
        if self.uses_memory:
            if self._memory is None or len(self._memory) != n or (isinstance(reset, str) and reset == "all"):
                self._memory = [{{}} for _ in range(n)]
            elif reset is not None:
                for row in numpy.asarray(reset, dtype=numpy.int64).ravel():
                    self._memory[int(row)] = {{}}
            args.append(self._memory)
        reward, terms = compute_reward(*args)

        def batch(value, what):
            array = numpy.asarray(value, dtype=numpy.float64)
            array = numpy.full(n, float(array)) if array.ndim == 0 else array
            if array.shape != (n,):
                raise ValueError(what + " has shape " + str(array.shape) + ", expected (" + str(n) + ",)")
            return array

        return batch(reward, "reward"), {{str(k): batch(v, "term " + repr(k)) for k, v in terms.items()}}


score = Reward()
"""The reward, ready to call on batches: score(state, action, next_state)."""


def _rc_wrapper_class():
    import gymnasium
    import numpy

    class RewardWrapper(gymnasium.Wrapper):
        """Replace one env's reward by the found reward (make_env()'s env, or one built the same way);
        the env's own reward stays in info["native_reward"], the terms are in info["reward_terms"]."""

        def __init__(self, env):
            super().__init__(env)
            self.reward_fn = Reward()
            self.state = None
            self._episode_start = True
            self._discrete = isinstance(env.action_space, gymnasium.spaces.Discrete)

        def _fields(self, obs, info):
            return field_values(numpy.asarray(obs)[None], [info.get("rc_probe", {{}})])

        def reset(self, **kwargs):
            obs, info = self.env.reset(**kwargs)
            self.state = self._fields(obs, info)
            self._episode_start = True
            return obs, info

        def step(self, action):
            if self.state is None:
                raise gymnasium.error.ResetNeeded("call reset() before step()")
            obs, native, terminated, truncated, info = self.env.step(action)
            next_state = self._fields(obs, info)
            batch = (numpy.asarray(action, dtype=numpy.int64).reshape(1) if self._discrete
                     else numpy.asarray(action, dtype=numpy.float64).reshape(1, -1))
            reward, terms = self.reward_fn(self.state, batch, next_state,
                                           reset="all" if self._episode_start else None)
            self.state, self._episode_start = next_state, False
            info = dict(info)
            info["native_reward"] = float(native)
            info["reward_terms"] = {{name: float(values[0]) for name, values in terms.items()}}
            return obs, float(reward[0]), terminated, truncated, info

    return RewardWrapper


def __getattr__(name):
    if name == "RewardWrapper":  # built on first use, so importing this file does not import gymnasium
        wrapper = _rc_wrapper_class()
        globals()["RewardWrapper"] = wrapper
        return wrapper
    raise AttributeError("module has no attribute " + repr(name))
'''
