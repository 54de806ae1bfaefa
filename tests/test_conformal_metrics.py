"""Tests for bsdl.conformal.metrics (pure NumPy interval metrics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsdl.conformal.metrics import (
    coverage,
    interval_metrics,
    interval_score,
    mean_width,
    rolling_coverage,
    width_ratio,
)

Z90 = 1.6448536269514722  # standard normal 0.95 quantile: N(0,1) central 90% interval


# -------------------------------------------------------------- hand-computed examples


def test_coverage_hand_example_bounds_count_as_covered():
    y = [0.0, 1.0, 2.0, 5.0, -0.5]
    lower = [0.0, 0.0, 0.0, 0.0, 0.0]
    upper = [1.0, 1.0, 3.0, 3.0, 3.0]
    # y=0 on the lower bound and y=1 on the upper bound are covered; 5 and -0.5 are not
    assert coverage(y, lower, upper) == pytest.approx(3 / 5)


def test_coverage_degenerate_interval_covers_equal_point():
    assert coverage([2.0], [2.0], [2.0]) == 1.0
    assert coverage([2.0 + 1e-12], [2.0], [2.0]) == 0.0


def test_mean_width_hand_example():
    assert mean_width([0.0, -1.0, 3.0], [1.0, 2.0, 3.0]) == pytest.approx((1 + 3 + 0) / 3)


def test_interval_score_hand_example_penalties_both_sides():
    alpha = 0.2  # penalty factor 2 / alpha = 10
    y = [0.5, -3.0, 4.0, 1.0, -1.0]
    lower = [-1.0] * 5
    upper = [1.0] * 5
    expected = [
        2.0,  # inside
        2.0 + 10 * 2.0,  # 2 below the lower bound
        2.0 + 10 * 3.0,  # 3 above the upper bound
        2.0,  # on the upper bound: no penalty
        2.0,  # on the lower bound: no penalty
    ]
    assert interval_score(y, lower, upper, alpha) == pytest.approx(np.mean(expected))


def test_interval_score_single_points_each_side():
    assert interval_score([-2.0], [0.0], [1.0], 0.5) == pytest.approx(1.0 + 4.0 * 2.0)
    assert interval_score([3.0], [0.0], [1.0], 0.5) == pytest.approx(1.0 + 4.0 * 2.0)
    assert interval_score([0.5], [0.0], [1.0], 0.5) == pytest.approx(1.0)


def test_width_ratio_hand_example_and_identical():
    assert width_ratio([0, 0], [1, 3], [0, 0], [4, 4]) == pytest.approx(0.5)
    rng = np.random.default_rng(1)
    lo = rng.normal(size=50)
    hi = lo + rng.uniform(0.1, 2.0, size=50)
    assert width_ratio(lo, hi, lo, hi) == pytest.approx(1.0)


def test_interval_metrics_keys_and_values():
    y = [0.0, 3.0, -1.0, 0.5]
    lo = [-1.0] * 4
    hi = [1.0] * 4
    out = interval_metrics(y, lo, hi, alpha=0.1)
    assert list(out) == ["coverage", "width", "interval_score", "miscoverage_gap"]
    assert out["coverage"] == pytest.approx(0.75)
    assert out["width"] == pytest.approx(2.0)
    assert out["interval_score"] == pytest.approx((2 + (2 + 20 * 2) + 2 + 2) / 4)
    assert out["miscoverage_gap"] == pytest.approx(0.75 - 0.9)
    assert all(isinstance(v, float) for v in out.values())

    out = interval_metrics(y, lo, hi, alpha=0.1, reference=([-2.0] * 4, [2.0] * 4))
    assert list(out)[-1] == "width_ratio"
    assert out["width_ratio"] == pytest.approx(0.5)


def test_interval_metrics_agrees_with_individual_functions():
    rng = np.random.default_rng(2)
    y = rng.normal(size=200)
    lo = rng.normal(size=200) - 1.0
    hi = lo + rng.uniform(0.5, 3.0, size=200)
    rlo, rhi = lo - 0.3, hi + 0.2
    out = interval_metrics(y, lo, hi, 0.2, reference=(rlo, rhi))
    assert out["coverage"] == coverage(y, lo, hi)
    assert out["width"] == mean_width(lo, hi)
    assert out["interval_score"] == interval_score(y, lo, hi, 0.2)
    assert out["width_ratio"] == width_ratio(lo, hi, rlo, rhi)


# ------------------------------------------------------------------- rolling coverage


def _naive_rolling(y, lo, hi, window):
    hit = (lo <= y) & (y <= hi)
    return np.array([hit[i : i + window].mean() for i in range(len(y) - window + 1)])


@pytest.mark.parametrize("window", [1, 2, 7, 50, 149, 150])
def test_rolling_coverage_matches_naive_loop(window):
    rng = np.random.default_rng(3)
    n = 150
    y = rng.normal(size=n)
    lo = np.full(n, -1.0)
    hi = np.full(n, 1.0)
    y[::10] = 1.0  # some points exactly on a bound
    out = rolling_coverage(y, lo, hi, window)
    assert isinstance(out, np.ndarray)
    assert out.shape == (n - window + 1,)
    np.testing.assert_allclose(out, _naive_rolling(y, lo, hi, window), rtol=0, atol=1e-12)


def test_rolling_coverage_edge_windows():
    rng = np.random.default_rng(4)
    y = rng.normal(size=40)
    lo, hi = -np.ones(40), np.ones(40)
    full = rolling_coverage(y, lo, hi, window=40)
    assert full.shape == (1,)
    assert full[0] == pytest.approx(coverage(y, lo, hi))
    ones = rolling_coverage(y, lo, hi, window=1)
    np.testing.assert_array_equal(ones, ((lo <= y) & (y <= hi)).astype(float))


def test_rolling_coverage_series_index_pass_through():
    idx = pd.date_range("2024-01-01", periods=6, freq="D")
    y = pd.Series([0.0, 5.0, 0.0, 0.0, 5.0, 0.0], index=idx)
    out = rolling_coverage(y, [-1.0] * 6, [1.0] * 6, window=3)
    assert isinstance(out, pd.Series)
    assert out.index.equals(idx[2:])
    np.testing.assert_allclose(out.to_numpy(), [2 / 3, 2 / 3, 2 / 3, 2 / 3])


def test_rolling_coverage_list_input_returns_array():
    out = rolling_coverage([0, 5, 0, 0, 5], [-1] * 5, [1] * 5, window=2)
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, [0.5, 0.5, 1.0, 0.5])


# ------------------------------------------------------------------ statistical checks


def test_exact_normal_interval_coverage_statistical():
    # Statistical check (fixed seed, so deterministic): N(0,1) data with the exact 90%
    # interval +-1.6449 should cover about 90%. The binomial standard error at n=20000
    # is sqrt(0.9 * 0.1 / 20000) ~= 0.0021; we allow 4 standard errors.
    n = 20_000
    rng = np.random.default_rng(20240607)
    y = rng.standard_normal(n)
    lo, hi = np.full(n, -Z90), np.full(n, Z90)
    se = np.sqrt(0.9 * 0.1 / n)
    assert abs(coverage(y, lo, hi) - 0.9) < 4 * se


def test_interval_score_is_proper_exact_interval_beats_wider_and_narrower():
    # Fixed seed. The exact central 90% interval minimises the expected score, so on a
    # large sample it should beat intervals 30% wider and 30% narrower.
    n = 20_000
    rng = np.random.default_rng(7)
    y = rng.standard_normal(n)
    ones = np.ones(n)
    exact = interval_score(y, -Z90 * ones, Z90 * ones, alpha=0.1)
    wider = interval_score(y, -1.3 * Z90 * ones, 1.3 * Z90 * ones, alpha=0.1)
    narrower = interval_score(y, -0.7 * Z90 * ones, 0.7 * Z90 * ones, alpha=0.1)
    assert exact < wider
    assert exact < narrower


# ------------------------------------------------------------------------ input types


def test_accepts_series_lists_and_int_arrays():
    y = pd.Series([0.0, 2.0, 5.0], index=["a", "b", "c"])
    lo = [0, 0, 0]
    hi = np.array([1, 3, 3])
    assert coverage(y, lo, hi) == pytest.approx(2 / 3)  # 0 in [0, 1], 2 in [0, 3]; 5 out
    assert mean_width(pd.Series([0.0, 1.0]), [2, 2]) == pytest.approx(1.5)


def test_inputs_not_mutated():
    y = np.array([0.0, 2.0, 5.0])
    lo = np.array([0.0, 0.0, 0.0])
    hi = np.array([1.0, 3.0, 3.0])
    s = pd.Series(y.copy())
    copies = [a.copy() for a in (y, lo, hi)]
    interval_metrics(y, lo, hi, 0.1, reference=(lo, hi))
    rolling_coverage(s, lo, hi, 2)
    for a, c in zip((y, lo, hi), copies):
        np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(s.to_numpy(), y)


# ------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("bad", [["a", "b", "c"], np.array(["1", "2", "3"]), "abc", None])
def test_non_numeric_rejected(bad):
    with pytest.raises(TypeError, match="y"):
        coverage(bad, [0, 0, 0], [1, 1, 1])


def test_non_numeric_series_names_argument():
    with pytest.raises(TypeError, match="upper"):
        mean_width([0.0, 0.0], pd.Series(["x", "y"]))


@pytest.mark.parametrize("bad", [np.zeros((3, 2)), np.zeros((3, 1)), 1.0])
def test_not_1d_rejected(bad):
    with pytest.raises(ValueError, match=r"lower must be 1-D"):
        coverage([0.0, 0.0, 0.0], bad, [1.0, 1.0, 1.0])


def test_length_mismatch_message():
    with pytest.raises(ValueError, match="y has 10 values but lower has 9"):
        coverage(np.zeros(10), np.zeros(9), np.ones(10))
    with pytest.raises(ValueError, match="y has 3 values but upper has 2"):
        interval_score([0, 0, 0], [0, 0, 0], [1, 1], 0.1)
    with pytest.raises(ValueError, match="lower has 3 values but upper has 2"):
        mean_width([0, 0, 0], [1, 1])
    with pytest.raises(ValueError, match="lower has 3 values but ref_lower has 2"):
        width_ratio([0, 0, 0], [1, 1, 1], [0, 0], [1, 1])


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("which", ["y", "lower", "upper"])
def test_non_finite_rejected(bad_value, which):
    args = {"y": [0.0, 0.5, 0.2], "lower": [0.0, 0.0, 0.0], "upper": [1.0, 1.0, 1.0]}
    args[which] = list(args[which])
    args[which][1] = bad_value
    with pytest.raises(ValueError, match=rf"{which} contains 1 non-finite value"):
        coverage(args["y"], args["lower"], args["upper"])


def test_lower_above_upper_rejected():
    with pytest.raises(ValueError, match=r"lower must be <= upper.*index 1"):
        coverage([0, 0, 0], [0, 2, 0], [1, 1, 1])
    with pytest.raises(ValueError, match="lower must be <= upper"):
        mean_width([0, 2], [1, 1])
    with pytest.raises(ValueError, match="ref_lower must be <= ref_upper"):
        width_ratio([0, 0], [1, 1], [0, 2], [1, 1])


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, 90, np.nan])
def test_alpha_out_of_range(alpha):
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        interval_score([0.0], [0.0], [1.0], alpha)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        interval_metrics([0.0], [0.0], [1.0], alpha)


@pytest.mark.parametrize("alpha", ["0.1", None, True])
def test_alpha_wrong_type(alpha):
    with pytest.raises(TypeError, match="alpha"):
        interval_score([0.0], [0.0], [1.0], alpha)


@pytest.mark.parametrize("window", [0, -1, 6])
def test_window_out_of_range(window):
    with pytest.raises(ValueError, match="window must be an integer"):
        rolling_coverage([0.0] * 5, [0.0] * 5, [1.0] * 5, window)


@pytest.mark.parametrize("window", [2.0, "2", None, True])
def test_window_wrong_type(window):
    with pytest.raises(TypeError, match="window must be an integer"):
        rolling_coverage([0.0] * 5, [0.0] * 5, [1.0] * 5, window)


def test_window_numpy_int_accepted():
    out = rolling_coverage([0.0] * 5, [0.0] * 5, [1.0] * 5, np.int64(5))
    np.testing.assert_array_equal(out, [1.0])


@pytest.mark.parametrize(
    "call",
    [
        lambda: coverage([], [], []),
        lambda: mean_width([], []),
        lambda: interval_score([], [], [], 0.1),
        lambda: rolling_coverage([], [], [], 1),
        lambda: width_ratio([], [], [0.0], [1.0]),
        lambda: interval_metrics(np.array([]), np.array([]), np.array([]), 0.1),
    ],
)
def test_empty_input_rejected(call):
    with pytest.raises(ValueError, match="at least 1 is required"):
        call()


def test_width_ratio_zero_reference_width():
    with pytest.raises(ValueError, match="mean width 0"):
        width_ratio([0.0, 0.0], [1.0, 1.0], [2.0, 3.0], [2.0, 3.0])


@pytest.mark.parametrize("reference", [np.zeros(3), "ab", ([0.0, 0.0, 0.0],), 5])
def test_interval_metrics_bad_reference(reference):
    with pytest.raises(TypeError, match="reference must be a pair"):
        interval_metrics([0.0] * 3, [0.0] * 3, [1.0] * 3, 0.1, reference=reference)
