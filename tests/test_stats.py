"""Statistics over seeds: known values, the n = 0/1/2 edges, determinism and the interval's coverage."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from reward_coder.stats import SeedStats, bootstrap_ci, iqm, seed_stats


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    assert iqm([1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx((3 + 4 + 5 + 6) / 4)
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx(4.5)  # order does not matter
    # one outlier moves the mean, not the IQM
    assert iqm([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 100.0]) == pytest.approx(0.5)
    assert iqm([0.3]) == pytest.approx(0.3)
    assert iqm([]) is None


def test_known_values_of_three_seeds() -> None:
    stats = seed_stats([0.4, 0.5, 0.9])
    assert stats.n == 3
    assert stats.mean == pytest.approx(0.6)
    assert stats.std == pytest.approx(np.std([0.4, 0.5, 0.9], ddof=1))  # sample std, not population
    assert stats.std == pytest.approx(0.264575, abs=1e-6)
    assert stats.iqm == pytest.approx(0.6)  # trim_mean(., 0.25) cuts int(0.25 * 3) = 0 values from each end
    assert seed_stats([0.0, 0.4, 0.5, 1.0]).iqm == pytest.approx(0.45)  # 4 seeds: one cut from each end
    assert 0.4 <= stats.ci_low < stats.mean < stats.ci_high <= 0.9
    assert stats.confidence == 0.95
    assert stats.describe() == f"0.60 ± 0.26 [{stats.ci_low:.2f}, {stats.ci_high:.2f}] (n=3)"


def test_no_values_one_value_and_two_values() -> None:
    none = seed_stats([])
    assert none == SeedStats(n=0, mean=None, std=None, ci_low=None, ci_high=None, iqm=None)
    assert none.describe() == "n/a (n=0)"

    one = seed_stats([0.53])
    assert (one.n, one.mean, one.iqm) == (1, pytest.approx(0.53), pytest.approx(0.53))
    assert (one.std, one.ci_low, one.ci_high) == (None, None, None)  # one seed has no spread, not a spread of 0
    assert one.describe() == "0.53 (n=1; no interval)"
    assert bootstrap_ci([0.53]) is None

    two = seed_stats([0.2, 0.4])
    assert two.mean == pytest.approx(0.3) and two.std == pytest.approx(0.141421, abs=1e-6)
    # resampled means of two values are 0.2, 0.3 or 0.4: the 95% percentile interval spans the extremes
    assert (two.ci_low, two.ci_high) == (pytest.approx(0.2), pytest.approx(0.4))
    assert two.describe(digits=1) == "0.3 ± 0.1 [0.2, 0.4] (n=2)"


def test_same_inputs_and_seed_give_the_same_interval() -> None:
    values = [0.1, 0.35, 0.4, 0.8, 0.55]
    assert seed_stats(values) == seed_stats(list(values))
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)  # the seed is what fixes it
    wider = bootstrap_ci(values, confidence=0.99)
    narrower = bootstrap_ci(values, confidence=0.5)
    assert wider[0] < narrower[0] and narrower[1] < wider[1]


def test_interval_of_a_statistic_other_than_the_mean() -> None:
    values = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0]
    low, high = bootstrap_ci(values, statistic=np.median)
    assert 0.0 <= low <= np.median(values) <= high <= 1.0


def test_constant_values_give_a_point_interval_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = seed_stats([0.7, 0.7, 0.7])
        pair = seed_stats([0.0, 0.0])
    assert stats.ci_low == stats.ci_high == stats.mean == stats.iqm == 0.7
    assert stats.std == 0.0 and stats.describe() == "0.70 ± 0.00 [0.70, 0.70] (n=3)"
    assert bootstrap_ci([0.7, 0.7, 0.7]) == (0.7, 0.7)
    assert (pair.ci_low, pair.ci_high) == (0.0, 0.0)
    assert bootstrap_ci([1.0, 1.0, 1.0, 1.0]) == (1.0, 1.0)


def test_the_95_percent_interval_covers_the_true_mean_most_of_the_time() -> None:
    rng = np.random.default_rng(12345)
    true_mean = 0.5
    covered = 0
    for repeat in range(50):
        sample = rng.normal(true_mean, 0.2, size=20)
        low, high = bootstrap_ci(sample, seed=repeat, n_resamples=1000)
        covered += low <= true_mean <= high
    # expected ~47 of 50 (percentile bootstrap under-covers slightly at n=20); a broken interval gives far fewer
    assert covered >= 40


def test_nan_and_none_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="value 1 is nan"):
        seed_stats([0.5, float("nan"), 0.2])
    with pytest.raises(ValueError, match="runs that finished"):
        seed_stats([0.5, None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([0.5, float("inf")])
    with pytest.raises(ValueError, match="nan"):
        iqm([float("nan")])


def test_to_dict_is_plain_json() -> None:
    stats = seed_stats([0.2, 0.4, 0.6])
    data = json.loads(json.dumps(stats.to_dict()))
    assert set(data) == {"n", "mean", "std", "ci_low", "ci_high", "iqm", "confidence"}
    assert data["n"] == 3 and data["mean"] == pytest.approx(0.4) and data["ci_low"] == stats.ci_low
    assert SeedStats(**data) == stats
