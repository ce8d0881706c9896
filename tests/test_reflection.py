"""Reward reflection over time: per-term sums across checkpoints, correlation with the metric, guidance."""

from reward_coder.outcomes import CurvePoint, TrainOutcome
from reward_coder.reflection import guidance, series_table, term_correlations


def _curve(successes, terms):
    return tuple(CurvePoint(timesteps=1000 * (i + 1), success_rate=s, metric=s, native_return=-5.0, length=100,
                            wall_s=1.0, candidate_return=sum(t[i] for t in terms.values()),
                            term_means={name: values[i] for name, values in terms.items()})
                 for i, s in enumerate(successes))


def test_guidance_says_rewrite_rescale_or_drop_from_the_numbers():
    outcome = TrainOutcome("c", "ok", 4000, curve=_curve([0.0, 0.0, 0.0, 0.0],
                                                         {"bonus": [0.0, 0.0, 0.0, 0.0], "speed": [900, 950, 990, 1000],
                                                          "upright": [1.0, 2.0, 1.5, 2.0]}))
    lines = guidance(outcome)
    assert any("stayed near zero" in line and "rewrite" in line for line in lines)
    assert any("'bonus'" in line and "rescale it or drop it" in line for line in lines)
    assert any("'speed' is 500x" in line for line in lines)


def test_a_learning_candidate_gets_no_rewrite_advice_and_correlations_have_the_right_sign():
    outcome = TrainOutcome("c", "ok", 4000, curve=_curve([0.1, 0.3, 0.6, 0.9],
                                                         {"up": [1.0, 3.0, 6.0, 9.0], "effort": [-1.0, -2.0, -3.0, -4.0]}))
    assert not any("near zero" in line for line in guidance(outcome))
    correlations = term_correlations(outcome.curve)
    assert correlations["up"] > 0.99 and correlations["effort"] < -0.9
    table = series_table(outcome)
    assert table.splitlines()[0].startswith("1000 steps: success 0.10, metric 0.1, own return 0")
    assert "correlation of each term's episode sum with the task metric" in table


def test_long_curves_are_shortened_to_a_few_checkpoints():
    n = 20
    outcome = TrainOutcome("c", "ok", n * 1000, curve=_curve([i / n for i in range(n)], {"up": list(range(n))}))
    rows = [line for line in series_table(outcome).splitlines() if "steps:" in line]
    assert len(rows) == 6 and rows[0].startswith("1000 steps") and rows[-1].startswith("20000 steps")
