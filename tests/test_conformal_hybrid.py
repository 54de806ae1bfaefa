"""AdaptiveAsymptotic (bsdl.conformal.hybrid), the shared ACI walk (aci_walk, aci_update)
and the shared aggregation of levels (aggregated_walk)."""

from __future__ import annotations

import numpy as np
import pytest
from _conformal_fakes import Zero
from scipy import stats

from bsdl.conformal import (
    ACI,
    HYBRID_GAMMAS,
    AdaptiveAsymptotic,
    aci_update,
    aci_walk,
)
from bsdl.exceptions import NotFittedError
from bsdl.results import PredictionIntervals

N = 4000  # test points; the variance doubles (sd 1 -> 2) at N // 2
ALPHA = 0.1


class UnitSE:
    """A fitted model predicting 0 with standard error ``se`` (and ``df`` when given)."""

    def __init__(self, se=1.0, df=None):
        self.se, self.df = se, df

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def predict_interval(self, X):
        return PredictionIntervals(np.zeros(len(X)), np.full(len(X), self.se), df=self.df)


def shifted_series(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=N) * np.repeat([1.0, 2.0], N // 2), np.zeros((N, 1))


def covered(pi, y):
    return (pi.lower <= y) & (y <= pi.upper)


def test_covers_after_a_variance_shift_where_the_asymptotic_interval_fails():
    y, X = shifted_series()
    plain = UnitSE().predict_interval(X).with_alpha(ALPHA)
    pi = AdaptiveAsymptotic(UnitSE(), gamma=0.02).predict_online(X, y, alpha=ALPHA)
    half = slice(N // 2, None)
    # binomial se of a coverage over m points: sqrt(0.9 * 0.1 / m); 3 se tolerance
    se_all, se_half = np.sqrt(0.09 / N), np.sqrt(0.09 / (N // 2))
    assert abs(covered(pi, y).mean() - 0.9) < 3 * se_all
    assert abs(covered(pi, y)[half].mean() - 0.9) < 3 * se_half
    # the plain interval (+-1.645 for an sd of 2) covers P(|Z| < 0.82) = 0.59 there
    assert covered(plain, y)[half].mean() < 0.9 - 10 * se_half
    # before the shift the level stays near alpha: widths near the plain 2 * 1.645
    assert np.mean(pi.width[: N // 2]) == pytest.approx(2 * stats.norm.ppf(0.95), rel=0.1)
    assert np.mean(pi.width[half]) > 1.6 * np.mean(pi.width[: N // 2])


def test_level_path_follows_the_aci_update_and_the_critical_value():
    y, X = shifted_series(1)
    pi = AdaptiveAsymptotic(UnitSE(df=30), gamma=0.05).predict_online(X[:300], y[:300], 0.1)
    a = pi.alphas
    assert a[0] == 0.1
    miss = ~covered(pi, y[:300])
    expected = aci_update(a[:-1], 0.1, 0.05, (miss[:-1] & (a[:-1] > 0)).astype(float))
    np.testing.assert_allclose(a[1:], expected, rtol=0, atol=1e-12)
    # each row is the model's own Student-t interval at that row's level (alpha_t in (0, 1))
    inside = (a > 0) & (a < 1)
    half = stats.t.ppf(1 - a[inside] / 2, 30)
    np.testing.assert_allclose(pi.upper[inside], half, rtol=1e-10)
    first = UnitSE(df=30).predict_interval(X[:1]).with_alpha(0.1)
    assert (pi.lower[0], pi.upper[0]) == pytest.approx((first.lower[0], first.upper[0]))


def test_nonpositive_level_reports_the_min_alpha_interval_and_counts_no_miss():
    y = np.array([0.0, 100.0, 100.0, 0.0])
    X = np.zeros((4, 1))
    pi = AdaptiveAsymptotic(UnitSE(), gamma=0.5, min_alpha=1e-3).predict_online(X, y, 0.1)
    # t=1 misses: 0.1 + 0.5 (0.1 - 1) = -0.35 <= 0, so t=2 is the whole line (no miss)
    np.testing.assert_allclose(pi.alphas, [0.1, 0.15, -0.3, -0.25])
    assert pi.upper[2] == pytest.approx(stats.norm.ppf(1 - 1e-3 / 2))


def test_level_at_or_above_one_gives_a_point_interval():
    y = np.zeros(3)  # every point is covered: 0.5 -> 0.95 -> 1.4
    pi = AdaptiveAsymptotic(UnitSE(), gamma=0.9).predict_online(np.zeros((3, 1)), y, 0.5)
    assert pi.alphas[2] >= 1 and pi.width[2] == 0.0 and pi.width[1] > 0


def test_aci_walk_reproduces_aci():
    # ACI now runs on aci_walk: its path equals a hand-written loop of the paper's update
    rng = np.random.default_rng(3)
    y = rng.normal(size=400) * np.linspace(1, 3, 400)
    X = np.zeros((400, 1))
    aci = ACI(Zero(), prefit=True, gamma=0.05).calibrate(X[:100], y[:100])
    pi = aci.predict_online(X[100:], y[100:], alpha=0.1)
    scores = np.sort(np.abs(y[:100]))
    a_t, path = 0.1, []
    for v in y[100:]:
        path.append(a_t)
        k = int(np.ceil(101 * (1 - a_t) - 1e-9))
        if a_t < 1 / 101:
            err = 0.0
        else:
            q = 0.0 if a_t >= 1 else scores[min(max(k, 1), 100) - 1]
            err = float(abs(v) > q)
        a_t = a_t + 0.05 * (0.1 - err)
    np.testing.assert_allclose(pi.alphas, path, atol=1e-12)
    lo, up, a = aci_walk(np.zeros(2), 0.2, 0.1, lambda t, a_t: (-1.0, 1.0, False))
    np.testing.assert_allclose(a, [0.2, 0.22])


def test_fit_when_not_prefit_and_repeatable_online_runs():
    y, X = shifted_series(2)
    h = AdaptiveAsymptotic(UnitSE(), prefit=False)
    with pytest.raises(NotFittedError, match="fit"):
        h.predict_online(X, y)
    h.fit(X[:100], y[:100])
    y_copy = y.copy()
    a = h.predict_online(X[100:600], y[100:600])
    b = h.predict_online(X[100:600], y[100:600])
    np.testing.assert_array_equal(a.lower, b.lower)
    np.testing.assert_array_equal(y, y_copy)  # the user's array is untouched
    assert a.method == "adaptive asymptotic" and "AdaptiveAsymptotic" in repr(h)


def test_aggregated_default_covers_after_the_shift_and_stays_near_a_calibrated_interval():
    assert AdaptiveAsymptotic(UnitSE()).gamma == HYBRID_GAMMAS and HYBRID_GAMMAS[0] == 0.0
    y, X = shifted_series(4)
    pi = AdaptiveAsymptotic(UnitSE()).predict_online(X, y, alpha=ALPHA)
    assert pi.alphas is None  # one level per expert: no single path
    half = slice(N // 2, None)
    # binomial se of a coverage over m points: sqrt(0.9 * 0.1 / m); 3 se tolerance
    se_all, se_half = np.sqrt(0.09 / N), np.sqrt(0.09 / (N // 2))
    assert abs(covered(pi, y).mean() - 0.9) < 3 * se_all
    assert abs(covered(pi, y)[half].mean() - 0.9) < 3 * se_half
    # sd 2 after the shift: the exact interval is +-2 * 1.645; the plain one +-1.645
    assert np.mean(pi.width[half]) > 1.8 * 2 * stats.norm.ppf(0.95)
    # calibrated model: the nominal expert has the smallest expected pinball loss, and
    # the aggregate's regret against it grows as sqrt(T), so the average width must
    # tend to the nominal 2 * 1.645; a single large step (the noisy walk the aggregation
    # replaces) fails this bound, the aggregate with or without the step-0 expert passes
    y0 = np.random.default_rng(4).normal(size=N)
    pi0 = AdaptiveAsymptotic(UnitSE()).predict_online(X, y0, alpha=ALPHA)
    assert abs(covered(pi0, y0).mean() - 0.9) < 3 * se_all
    assert np.mean(pi0.width) == pytest.approx(2 * stats.norm.ppf(0.95), rel=0.05)


def test_aggregated_experts_reduce_to_their_single_walks():
    y, X = shifted_series(5)
    # one expert at step 0: the model's own interval, unchanged
    fixed = AdaptiveAsymptotic(UnitSE(df=30), gamma=(0.0,)).predict_online(X[:500], y[:500])
    plain = UnitSE(df=30).predict_interval(X[:500]).with_alpha(0.1)
    np.testing.assert_allclose(fixed.upper, plain.upper, rtol=1e-12)
    np.testing.assert_allclose(fixed.lower, plain.lower, rtol=1e-12)
    # one expert at step 0.01 (its level stays in (0, 1) here): the single ACI walk
    one = AdaptiveAsymptotic(UnitSE(), gamma=(0.01,)).predict_online(X[:500], y[:500])
    walk = AdaptiveAsymptotic(UnitSE(), gamma=0.01).predict_online(X[:500], y[:500])
    assert np.all((walk.alphas > 0) & (walk.alphas < 1))
    np.testing.assert_allclose(one.upper, walk.upper, rtol=1e-12)


def test_aggregation_weights_and_the_whole_line_expert_by_hand():
    # two experts, steps 0 and 0.5, alpha 0.2, se 1, normal: c(0.2) = 1.2816
    y = np.array([5.0, 0.0, 0.0])
    pi = AdaptiveAsymptotic(UnitSE(), gamma=(0.0, 0.5)).predict_online(
        np.zeros((3, 1)), y, alpha=0.2
    )
    c = stats.norm.ppf(0.9)
    # t=0: both at level 0.2, equal weights: +-c. y=5 misses: expert 2 -> 0.2 - 0.4 = -0.2
    assert pi.upper[0] == pytest.approx(c)
    # t=1: expert 2 asks for the whole line and contributes the largest standardized
    # error so far, |5 - 0| / 1 = 5; equal cumulative losses so far: the mean, (c + 5) / 2
    assert pi.upper[1] == pytest.approx((c + 5.0) / 2)
    assert pi.lower[1] == pytest.approx(-(c + 5.0) / 2)
    # t=1's y = 0 is inside both: upper pinball gradient 1 - 0.9 = 0.1 times each bound,
    # so expert 2 has 0.1 (5 - c) more loss; rate sqrt(8 log 2 / 3) / spread (5 - c)
    eta = np.sqrt(8 * np.log(2) / 3) / (5.0 - c)
    w2 = np.exp(-eta * 0.1 * (5.0 - c))
    assert pi.upper[2] == pytest.approx((c + w2 * 5.0) / (1 + w2), rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(gamma=0.0), ValueError, "gamma"),
        (dict(gamma=()), ValueError, "at least one"),
        (dict(gamma=(0.0, 1.0)), ValueError, r"gamma must be in \[0, 1\)"),
        (dict(gamma=(0.1, "x")), TypeError, "gamma"),
        (dict(gamma="0.1"), TypeError, "gamma"),
        (dict(min_alpha=1.0), ValueError, "min_alpha"),
        (dict(min_alpha=None), TypeError, "min_alpha"),
        (dict(prefit="yes"), TypeError, "prefit"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        AdaptiveAsymptotic(UnitSE(), **kwargs).predict_online(np.zeros((5, 1)), np.zeros(5))


def test_bad_inputs():
    X, y = np.zeros((5, 1)), np.zeros(5)
    with pytest.raises(TypeError, match="predict_interval"):
        AdaptiveAsymptotic(Zero()).predict_online(X, y)
    with pytest.raises(ValueError, match="prefit=True"):
        AdaptiveAsymptotic(UnitSE()).fit(X, y)
    with pytest.raises(ValueError, match="y has 4 values but X has 5 rows"):
        AdaptiveAsymptotic(UnitSE()).predict_online(X, y[:4])
    with pytest.raises(ValueError, match="y"):
        AdaptiveAsymptotic(UnitSE()).predict_online(X, np.array([0, 0, np.nan, 0, 0]))
    with pytest.raises(ValueError, match="alpha"):
        AdaptiveAsymptotic(UnitSE()).predict_online(X, y, alpha=1.5)

    class NaNSE(UnitSE):
        def predict_interval(self, X):
            return type("PI", (), {"mean": np.zeros(len(X)), "se": np.full(len(X), np.nan)})()

    with pytest.raises(ValueError, match="standard errors"):
        AdaptiveAsymptotic(NaNSE()).predict_online(X, y)
