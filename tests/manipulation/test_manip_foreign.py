"""Foreign rewards, `compute_dense_reward(self, action, obs)` written for other tools (Text2Reward's form):
converted to our contract without relaxing the static check, run in the sandboxed worker, and equal to
what the original computes with a real `self.env`."""

from __future__ import annotations

import numpy as np
import pytest

from reward_coder.bench.suite import SUITES_DIR
from reward_coder.envs import get_card, sample_transitions
from reward_coder.foreign import ForeignRewardError, convert_foreign, is_foreign, reward_code_from_file
from reward_coder.sandbox import SandboxedReward, check_candidate, static_check

pytest.importorskip("metaworld")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

STANDIN = SUITES_DIR / "rewards" / "metaworld-reach.foreign.handwritten-standin.py"

SPECIFIC = '''
def compute_dense_reward(self, action, obs) -> float:
    # Text2Reward's "specific" style: obs slices and private env methods
    dist_to_handle = np.linalg.norm(obs[:3] - obs[4:7])
    goal_diff = np.linalg.norm(obs[4:7] - self.env._get_pos_goal())
    tcp_goal = np.linalg.norm(self.env.tcp_center - self.env._target_pos)
    start = np.linalg.norm(self.env.init_tcp - self.env.unwrapped.obj_init_pos)
    gripper_penalty = 0.0
    if dist_to_handle < 0.1 and obs[3] > -1:
        gripper_penalty = 1.0
    return -dist_to_handle - goal_diff - tcp_goal - 0.1 * start - 0.01 * gripper_penalty - 0.001 * np.linalg.norm(action)
'''

GENERAL = '''
import numpy as np

def compute_dense_reward(self, action, obs) -> float:
    # Text2Reward's "general" style: the class-like abstraction of its prompt
    gripper_obj_dist = np.linalg.norm(self.robot.ee_position - self.obj1.position)
    obj_goal_dist = np.linalg.norm(self.obj1.position - self.goal_position)
    if obj_goal_dist < 0.05:
        return 1.0
    return -0.01 * gripper_obj_dist - 0.01 * obj_goal_dist - 0.001 * np.sum(np.square(action)) + 0.0 * self.robot.gripper_openness
'''


class _FakeMetaWorld:
    """What the original code sees as `self.env`: the same values a real Meta-World env returns."""

    def __init__(self, row: dict[str, np.ndarray]) -> None:
        self.tcp_center = row["tcp_pos"]
        self._target_pos = row["goal_pos"]
        self.init_tcp = row["init_tcp_pos"]
        self.obj_init_pos = row["obj_init_pos"]
        self.unwrapped = self

    def _get_pos_goal(self) -> np.ndarray:
        return self._target_pos


class _Wrapper:
    def __init__(self, row: dict[str, np.ndarray]) -> None:
        self.env = _FakeMetaWorld(row)


def _original(code: str):
    namespace: dict = {"np": np}
    exec(code, namespace)  # noqa: S102 - test-only: the reference value of trusted test code
    return namespace["compute_dense_reward"]


@pytest.fixture(scope="module")
def reach_batch():
    return sample_transitions(get_card("metaworld-reach"), n_envs=2, n_steps=16, seed=0)


def test_specific_style_converts_passes_the_static_check_and_matches_the_original(reach_batch) -> None:
    card = get_card("metaworld-reach")
    conversion = convert_foreign(SPECIFIC, card)
    assert set(conversion.fields) == {"tcp_pos", "goal_pos", "init_tcp_pos", "obj_init_pos"}
    assert "self.env._get_pos_goal() -> goal_pos" in conversion.translated
    assert "self.env.unwrapped.obj_init_pos -> obj_init_pos" in conversion.translated
    code_lines = [line for line in conversion.code.splitlines() if not line.lstrip().startswith("#")]
    assert not any("_get_pos_goal" in line or "self.env" in line for line in code_lines)
    assert "#         tcp_goal = np.linalg.norm(self.env.tcp_center - self.env._target_pos)" in conversion.code
    assert [i for i in static_check(conversion.code, card.field_names()) if i.severity == "error"] == []

    batch = reach_batch
    original = _original(SPECIFIC)
    n = len(batch)
    expected = np.array([
        original(_Wrapper({k: v[i] for k, v in batch.next_state.items()}), batch.action[i], batch.next_state["obs"][i])
        for i in range(n)
    ])
    with SandboxedReward(conversion.code, field_names=card.field_names()) as worker:  # the real sandboxed worker
        raw = worker.call(batch.state, batch.action, batch.next_state)
    assert raw.error is None, raw.error
    np.testing.assert_allclose(raw.reward, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(raw.terms["foreign_reward"], expected, rtol=1e-12, atol=1e-12)


def test_general_style_maps_text2reward_abstractions_to_fields(reach_batch) -> None:
    card = get_card("metaworld-reach")
    conversion = convert_foreign(GENERAL, card)
    assert set(conversion.fields) == {"hand_pos", "gripper_openness", "obj_pos", "goal_pos"}
    report = check_candidate(conversion.code, field_names=card.field_names(), batches=reach_batch)
    assert report.ok, report.issues


def test_the_shipped_foreign_standin_passes_the_sandboxed_check(reach_batch) -> None:
    card = get_card("metaworld-reach")
    code, kind = reward_code_from_file(STANDIN, card)
    assert kind == "foreign" and is_foreign(STANDIN.read_text()) and not is_foreign(code)
    report = check_candidate(code, field_names=card.field_names(), batches=reach_batch)
    assert report.ok and report.n_states == len(reach_batch) and report.isolation
    assert set(report.term_stats) == {"foreign_reward"}


def test_foreign_code_still_faces_every_static_rule_with_the_files_own_lines(reach_batch) -> None:
    """A foreign reward that imports a module outside the allow-list converts, then fails the same check,
    and the refusal names the line of the file as the user wrote it, not of the converted code."""
    card = get_card("metaworld-reach")
    code = "import os\n" + SPECIFIC.replace("    gripper_penalty = 0.0\n", "    gripper_penalty = 0.0 * len(os.sep)\n")
    conversion = convert_foreign(code, card)
    report = check_candidate(conversion.code, field_names=card.field_names(), batches=reach_batch)
    assert not report.ok and {i.rule for i in report.errors} == {"no-import"}
    [issue] = report.errors
    assert conversion.original_line(issue.line) == 1


SCIPY_REWARD = '''
import numpy as np
import scipy
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation as R
import scipy.stats


def compute_dense_reward(self, action, obs) -> float:
    # as in Text2Reward's published Meta-World rewards: one uses cdist, others import scipy and never use it
    hand_to_goal = cdist(obs[None, :3], self.env._target_pos[None, :])[0, 0]
    return -hand_to_goal
'''


def test_text2reward_style_scipy_reward_converts_and_passes(reach_batch) -> None:
    card = get_card("metaworld-reach")
    conversion = convert_foreign(SCIPY_REWARD, card)
    assert any("import scipy.stats" in note for note in conversion.notes), "the unused refused import is dropped"
    report = check_candidate(conversion.code, field_names=card.field_names(), batches=reach_batch)
    assert report.ok, report.issues
    hand, goal = reach_batch.next_state["obs"][:, :3], reach_batch.next_state["goal_pos"]
    with SandboxedReward(conversion.code, field_names=card.field_names()) as worker:
        raw = worker.call(reach_batch.state, reach_batch.action, reach_batch.next_state)
    np.testing.assert_allclose(raw.reward, -np.linalg.norm(hand - goal, axis=1), rtol=1e-12)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("def compute_dense_reward(self, action, obs):\n    return self.env.model.body_mass[0]\n",
         "'self.env.model.body_mass'"),
        ("def compute_dense_reward(self, action, obs):\n    self.counter = 1\n    return 0.0\n", "'self.counter'"),
        ("def compute_dense_reward(self, action, obs):\n    return self.env._get_site_pos('hand')[0]\n",
         "'self.env._get_site_pos'"),
        ("def reward(self, action, obs):\n    return 0.0\n", "no top-level `def compute_dense_reward"),
        ("def compute_dense_reward(self, obs):\n    return 0.0\n", "must take exactly (self, action, obs)"),
        ("def compute_dense_reward(self, action, obs):\n    return 0.0\n\ndef compute_reward(a, b, c):\n    return 0\n",
         "defines 'compute_reward'"),
        ("def compute_dense_reward(self, action, obs:\n", "does not parse"),
    ],
)
def test_unconvertible_foreign_code_is_refused_in_one_line(code: str, words: str) -> None:
    with pytest.raises(ForeignRewardError) as caught:
        convert_foreign(code, get_card("metaworld-reach"))
    message = str(caught.value)
    assert words in message and "\n" not in message
    if "self.env" in words:
        assert "self.env.tcp_center" in message, "the message lists what is supported"


def test_foreign_rewards_need_a_card_with_the_raw_observation() -> None:
    with pytest.raises(ForeignRewardError, match="no 'obs' field"):
        convert_foreign("def compute_dense_reward(self, action, obs):\n    return obs[0]\n", get_card("halfcheetah"))
