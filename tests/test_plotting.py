"""bsdl.plotting reads any intervals result through the shared Intervals protocol."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bsdl.conformal import ConformalIntervals  # noqa: E402
from bsdl.plotting import plot_interval_comparison, plot_intervals  # noqa: E402
from bsdl.results import Intervals, PredictionIntervals  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legend(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


# y = 0.5 and 0.9 are inside [-1, 1]; 3.0 and -2.0 are not
MEAN, LOWER, UPPER, Y = [0.0] * 4, [-1.0] * 4, [1.0] * 4, [0.5, 0.9, 3.0, -2.0]


@pytest.mark.parametrize(
    "intervals, band",
    [
        (ConformalIntervals(MEAN, LOWER, UPPER, 0.1, "split"), "90% interval"),
        (Intervals(MEAN, LOWER, UPPER, alpha=0.2), "80% interval"),
        # se = 1 / z_{0.975}: the 95 % ends are -1 and 1 up to rounding
        (PredictionIntervals(MEAN, [1 / 1.959963984540054] * 4), "95% prediction interval"),
    ],
    ids=["conformal", "base", "prediction"],
)
def test_plot_intervals_reads_any_intervals(intervals, band):
    labels = _legend(plot_intervals(intervals, y=Y))
    assert labels[0] == band
    assert "observed (inside: 50.0%)" in labels  # 2 of the 4 points, by hand


def test_plot_interval_comparison_counts_a_point_on_an_end_as_covered():
    # 1.0 lies on the upper end (covered), 0.5 inside, 3.0 and -2.0 outside
    frame = pd.DataFrame({"y": [0.5, 1.0, 3.0, -2.0], "lower": LOWER, "upper": UPPER})
    fig = plot_interval_comparison({"split": frame})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "coverage 0.500, mean width 2" in texts
