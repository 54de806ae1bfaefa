"""bsdl.metrics.reliability_diagram (issue 16, deliverable 5): the figure shows the
reliability table and the ECE."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib  # noqa: E402

matplotlib.use("Agg")

from bsdl.metrics import (  # noqa: E402
    expected_calibration_error,
    reliability_diagram,
    reliability_table,
)


def test_reliability_diagram_draws_the_table_on_a_new_or_given_axes():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    p1 = rng.uniform(size=500)
    y = (rng.uniform(size=500) < 0.5).astype(int)  # labels independent of the probabilities
    fig = reliability_diagram(y, p1, n_bins=5)
    ax = fig.axes[0]
    table = reliability_table(y, p1, n_bins=5)
    heights = [patch.get_height() for patch in ax.patches]
    np.testing.assert_allclose(heights, table["accuracy"].to_numpy())
    ece = expected_calibration_error(y, p1, n_bins=5)
    assert ax.get_title() == f"Reliability (ECE = {ece:.3f})"
    # accuracy 1/2 in every bin against a mean confidence of 3/4: ECE near 0.25 (binomial
    # sd of a bin's accuracy with ~100 points: 0.05)
    assert 0.15 < ece < 0.35
    fig2, axes = plt.subplots(1, 2)
    out = reliability_diagram(y, p1, ax=axes[1], title="mine")
    assert out is fig2 and axes[1].get_title() == "mine" and not axes[0].patches
    plt.close("all")
    with pytest.raises(ValueError, match="n_bins"):
        reliability_diagram(y, p1, n_bins=0)
    with pytest.raises(ValueError, match="proba"):
        reliability_diagram(y, p1 + 2.0)


def test_coverage_curve_reads_posterior_intervals_of_regression_and_series():
    import warnings

    from bsdl import SparseRNN
    from bsdl.datasets import make_ar
    from bsdl.metrics import coverage_curve
    from bsdl.results import PosteriorIntervals

    rng = np.random.default_rng(1)
    # calibrated draws: 400 predictive draws of N(0, 1) per point, y ~ N(0, 1)
    pi = PosteriorIntervals(rng.normal(size=(400, 3000)))
    curve = coverage_curve(pi, rng.normal(size=3000), levels=[0.5, 0.8, 0.95])
    # binomial se sqrt(l(1-l)/3000) <= 0.0092, plus the quantile error of 400 draws
    # (sd of the covered mass ~ 0.01 at 0.5, less in the tails): 4 binomial se + 0.03
    assert np.all(np.abs(curve["coverage"] - curve["level"]) < 4 * curve["binomial_se"] + 0.03)
    # series: one-step posterior intervals of SparseRNN, at every level from the same draws
    y = make_ar(200, {1: 0.6}, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = SparseRNN(
            lags=2, hidden_size=2, n_epochs=20, method="sghmc", n_chains=2, n_samples=20,
            thin=1, random_state=0,
        ).fit(y)  # fmt: skip
    one = r.predict_interval(series=y, kind="posterior")
    observed = np.asarray(y)[-len(one.mean) :]
    curve = coverage_curve(one, observed, levels=[0.5, 0.9])
    assert list(curve["level"]) == [0.5, 0.9]
    assert curve["coverage"].iloc[0] <= curve["coverage"].iloc[1]
    assert 0.2 < curve["coverage"].iloc[1] <= 1.0
