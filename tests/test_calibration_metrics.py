"""bsdl.metrics (calibration) against scikit-learn and hand computations."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

from bsdl.metrics import (  # noqa: E402
    brier_score,
    coverage_curve,
    expected_calibration_error,
    log_loss,
    reliability_table,
)
from bsdl.plotting import plot_reliability  # noqa: E402
from bsdl.results import PredictionIntervals  # noqa: E402


def _multiclass(seed=0, n=500, c=3):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, c))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(c, p=row) for row in p])
    return y, p


def test_log_loss_and_brier_match_sklearn():
    y, p = _multiclass()
    assert log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-12)
    yb, pb = _multiclass(1, c=2)
    # sklearn's binary Brier score is mean (p1 - y)^2; the multi-class form sums both classes
    assert brier_score(yb, pb) == pytest.approx(2 * skm.brier_score_loss(yb, pb[:, 1]), rel=1e-12)
    assert brier_score(yb, pb[:, 1]) == pytest.approx(brier_score(yb, pb))  # vector input


def test_ece_is_small_for_calibrated_and_large_for_overconfident_predictions():
    # labels drawn from the predicted probabilities: calibrated by construction. With 20000
    # points and 10 bins the ECE is sampling noise, about sqrt(p(1-p)/count) per bin ~ 0.01.
    y, p = _multiclass(2, n=20000)
    assert expected_calibration_error(y, p) < 0.02
    sharp = p**4 / (p**4).sum(axis=1, keepdims=True)  # overconfident version
    assert expected_calibration_error(y, sharp) > 0.1
    table = reliability_table(y, p)
    assert table["count"].sum() == 20000
    assert (table["confidence"] >= table["bin_lower"]).all()


def test_coverage_curve_of_calibrated_normal_intervals():
    # y ~ N(0, 1) and the intervals of N(0, 1): coverage within 3 binomial se at each level
    rng = np.random.default_rng(3)
    y = rng.normal(size=5000)
    pi = PredictionIntervals(np.zeros(5000), np.ones(5000))
    curve = coverage_curve(pi, y)
    assert ((curve["coverage"] - curve["level"]).abs() < 3 * curve["binomial_se"]).all()
    wide = coverage_curve(PredictionIntervals(np.zeros(5000), 2 * np.ones(5000)), y, [0.5])
    assert wide["coverage"].iloc[0] > 0.8  # twice the sd: 0.5-intervals cover about 0.82
    fn = coverage_curve(lambda a: (np.full(5000, -1.0), np.full(5000, 1.0)), y, [0.9])
    assert fn["coverage"].iloc[0] == pytest.approx(np.mean(np.abs(y) <= 1.0))


@pytest.mark.parametrize(
    "y, p, match",
    [
        ([0, 1], [[0.5, 0.6], [0.5, 0.5]], "sum to 1"),
        ([0, 1], [1.5, 0.5], "in \\[0, 1\\]"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], "class codes"),
        ([0], [[0.5, 0.5], [0.5, 0.5]], "y_true"),
        ([0.5, 1], [0.5, 0.5], "integer"),
    ],
)
def test_bad_input(y, p, match):
    with pytest.raises(ValueError, match=match):
        log_loss(y, p)


def test_reliability_diagram_returns_the_figure():
    y, p = _multiclass(4)
    fig = plot_reliability(y, p, n_bins=5)
    assert fig.axes[0].get_title().startswith("Reliability (ECE = ")
    with pytest.raises(ValueError, match="n_bins"):
        reliability_table(y, p, n_bins=0)
