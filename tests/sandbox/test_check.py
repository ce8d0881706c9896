"""check_candidate end to end: inputs it accepts, the report it returns."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from reward_coder.sandbox import check_candidate
from reward_coder.types import to_jsonable

from .conftest import FIELD_NAMES, TEST_LIMITS, make_batch

GOOD = """
import numpy as np


def compute_reward(state, action, next_state):
    forward = next_state.x_velocity
    effort = -0.1 * np.sum(np.square(action), axis=1)
    return forward + effort, {"forward": forward, "effort": effort}
"""


@dataclass
class TransitionBatch:
    state: dict
    action: np.ndarray
    next_state: dict


def test_a_good_candidate_passes_with_statistics(batch):
    report = check_candidate(GOOD, field_names=FIELD_NAMES, batches=batch, limits=TEST_LIMITS)
    assert report.ok and report.issues == ()
    assert report.n_states == 128 and report.isolation in ("bwrap", "rlimits")
    assert set(report.term_stats) == {"forward", "effort"}
    state, action, next_state = batch
    assert np.isclose(report.term_stats["forward"].mean, next_state["x_velocity"].mean())
    assert report.term_stats["effort"].max <= 0
    assert report.reward_stats is not None and report.call_ms is not None and report.call_ms < 50
    json.dumps(to_jsonable(report))


def test_batches_may_be_an_object_or_a_list_of_triples():
    state, action, next_state = make_batch(n=100)
    as_object = check_candidate(GOOD, field_names=FIELD_NAMES, batches=TransitionBatch(state, action, next_state),
                                limits=TEST_LIMITS, chunk_size=32)
    assert as_object.ok and as_object.n_states == 100
    as_list = check_candidate(GOOD, field_names=FIELD_NAMES, batches=[make_batch(n=10), make_batch(n=20, seed=1)],
                              limits=TEST_LIMITS)
    assert as_list.ok and as_list.n_states == 30


def test_a_static_refusal_never_starts_a_worker(batch):
    report = check_candidate("import os\n" + GOOD, field_names=FIELD_NAMES, batches=batch, limits=TEST_LIMITS)
    assert not report.ok and [i.rule for i in report.errors] == ["no-import"]
    assert report.n_states == 0 and report.term_stats == {}


def test_static_warnings_are_kept_next_to_runtime_findings(batch):
    code = GOOD.replace("return forward + effort,",
                        "bonus = np.where(next_state.x_position == 0.25, 1.0, 0.0)\n"
                        "    return forward + effort + bonus,").replace('"effort": effort}', '"effort": effort, "bonus": bonus}')
    report = check_candidate(code, field_names=FIELD_NAMES, batches=batch, limits=TEST_LIMITS)
    assert report.ok
    assert {(i.rule, i.term) for i in report.warnings} == {("float-equality", None), ("constant-term", "bonus")}


def test_the_first_failing_chunk_stops_the_check(batch):
    code = GOOD.replace("forward = next_state.x_velocity", "forward = next_state.x_velocity / 0.0")
    report = check_candidate(code, field_names=FIELD_NAMES, batches=batch, limits=TEST_LIMITS)
    assert not report.ok
    assert [i.rule for i in report.errors] == ["non-finite", "non-finite"]
    assert {i.term for i in report.errors} == {None, "forward"}
