"""The allow-lists themselves (reward_coder/sandbox/_rules.py): every listed name exists, no listed name
leads to a module that is not listed, and the worker hands reward code views built from the lists only."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from reward_coder.sandbox import _rules

scipy_distance = pytest.importorskip("scipy.spatial.distance")
scipy_transform = pytest.importorskip("scipy.spatial.transform")

WORKER_DIR = Path(_rules.__file__).parent


def _real(namespace: str):
    if namespace == "scipy.spatial.transform.Rotation":
        return scipy_transform.Rotation
    __import__(namespace)
    return sys.modules[namespace]


@pytest.mark.parametrize("namespace", sorted(_rules.MODULE_MEMBERS))
def test_every_listed_member_exists(namespace: str) -> None:
    real = _real(namespace)
    missing = sorted(m for m in _rules.MODULE_MEMBERS[namespace] if not hasattr(real, m))
    assert missing == []


@pytest.mark.parametrize("namespace", sorted(_rules.MODULE_MEMBERS))
def test_no_listed_member_is_a_module_unless_it_is_listed_as_one(namespace: str) -> None:
    real = _real(namespace)
    modules = sorted(m for m in _rules.MODULE_MEMBERS[namespace]
                     if isinstance(getattr(real, m, None), types.ModuleType))
    assert modules == []
    for member, inner in _rules.SUBMODULES.get(namespace, {}).items():
        assert inner in _rules.MODULE_MEMBERS, f"{namespace}.{member} names an unlisted namespace"


def _sample_values() -> list[object]:
    array = np.array([[0.5, -1.0]])
    rng = np.random.default_rng(0)
    values = [array, array[0, 0], array.dtype, np.finfo(float), np.iinfo(np.int64), rng, np.ma.masked_less(array, 0),
              scipy_transform.Rotation.from_euler("xyz", [0.1, 0.2, 0.3]), {}, [], set(), (), "text", 1.5, 3,
              np.errstate(), np.mean, np.linalg.norm, np.float64, np.ma.masked, array.T, array.shape]
    for namespace in _rules.MODULE_MEMBERS:
        real = _real(namespace)
        values += [getattr(real, m) for m in sorted(_rules.MODULE_MEMBERS[namespace]) if hasattr(real, m)]
    return values


def test_value_attributes_lead_to_no_module_on_any_value_reward_code_can_hold() -> None:
    """Two steps of value attributes from every allowed object and sample value reach no module, no
    builtins module and no `type`/`object` (the roots of object-graph walks)."""
    frontier = _sample_values()
    for _ in range(2):
        reached = []
        for value in frontier:
            for name in sorted(_rules.VALUE_ATTRIBUTES):
                try:
                    found = getattr(value, name)
                except Exception:  # noqa: BLE001 - most names do not exist on most values
                    continue
                assert not isinstance(found, types.ModuleType), f"{type(value).__name__}.{name} is a module"
                assert found is not type and found is not object, f"{type(value).__name__}.{name} is {found}"
                reached.append(found)
        frontier = reached


def test_the_global_random_and_state_functions_are_outside_every_list() -> None:
    assert not _rules.GLOBAL_RANDOM_FUNCTIONS & _rules.MODULE_MEMBERS["numpy.random"]
    assert not _rules.STATEFUL_NUMPY_FUNCTIONS & _rules.MODULE_MEMBERS["numpy"]
    assert not {"object_", "void", "bytes_", "str_", "frombuffer", "fromfile", "load", "lib", "ctypeslib"} \
        & _rules.MODULE_MEMBERS["numpy"]
    assert "random" not in _rules.VALUE_ATTRIBUTES  # np.random and Rotation.random


def test_card_field_names_are_not_dangerous_attribute_names() -> None:
    """Field names are readable on any value (a helper may take a state under any name), so none may be
    an attribute that matters on other objects."""
    from reward_coder.envs import get_card, list_cards

    names = set()
    for card in list_cards():
        names |= set(get_card(card.id if hasattr(card, "id") else card).field_names())
    assert not {n for n in names if _rules.attribute_refusal(n) is not None}
    assert not names & {"base", "data", "flags", "view", "type", "random", "ctypes", "bit_generator", "fields"}


@pytest.fixture(scope="module")
def worker_main():
    sys.path.insert(0, str(WORKER_DIR))
    try:
        import _worker_main
    finally:
        sys.path.remove(str(WORKER_DIR))
    return _worker_main


def test_the_workers_builtins_are_exactly_the_allow_list(worker_main) -> None:
    """A fresh table of the allow-listed names, plus the guards the worker adds, and nothing else."""
    table = worker_main._restricted_builtins()
    guards = {"__import__", "__build_class__", worker_main.GUARD_NAME}
    import builtins

    assert set(table) - guards == {n for n in _rules.ALLOWED_BUILTINS if hasattr(builtins, n)}
    assert set(table) - guards <= _rules.ALLOWED_BUILTINS
    assert not {"getattr", "open", "eval", "exec", "type", "object", "vars", "globals"} & set(table)


@pytest.mark.parametrize("namespace", sorted(_rules.MODULE_MEMBERS))
def test_the_workers_module_views_hold_only_listed_members(worker_main, namespace: str) -> None:
    view = worker_main._namespace(namespace)
    names = set(dir(view))
    assert names <= _rules.MODULE_MEMBERS[namespace] | set(_rules.SUBMODULES.get(namespace, {}))
    for name in names:
        assert not isinstance(getattr(view, name), types.ModuleType), f"{namespace}.{name} is a real module"
    with pytest.raises(AttributeError):
        view.core  # noqa: B018
    with pytest.raises(AttributeError):
        view.anything = 1


def test_imports_in_the_worker_give_the_views(worker_main) -> None:
    guarded = worker_main._guarded_import
    numpy_view = guarded("numpy")
    assert isinstance(numpy_view, worker_main.AllowedNamespace)
    assert guarded("numpy.linalg", fromlist=("norm",)).norm is np.linalg.norm
    assert guarded("scipy.spatial.distance", fromlist=("cdist",)).cdist is scipy_distance.cdist
    for name, fromlist in [("numpy.ma.core", None), ("os", None), ("numpy", ("ctypeslib",)),
                           ("numpy.random", ("seed",)), ("numpy", ("lib",))]:
        with pytest.raises(ImportError):
            guarded(name, fromlist=fromlist)


def test_np_ndarray_as_a_type_annotation_is_allowed() -> None:
    """Text2Reward's published drawer-close reward annotates `action: np.ndarray`; naming the type in an
    annotation calls nothing (a call inside an annotation is refused: see test_adversarial_static)."""
    from reward_coder.sandbox import static_check

    code = (
        "import numpy as np\n\n\n"
        "def compute_reward(state, action: np.ndarray, next_state) -> np.ndarray:\n"
        "    speed: np.ndarray = next_state.x_velocity\n"
        "    return speed, {'speed': speed}\n"
    )
    assert [i.describe() for i in static_check(code, ("x_velocity",)) if i.severity == "error"] == []
