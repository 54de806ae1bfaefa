"""Tests for bsdl.conformal: SplitConformal, ACI, AgACI, EnbPI, SPCI, ConformalizedAsymptotic.

Statistical checks use fixed seeds, and every tolerance is derived in a comment from the
sampling law of the quantity tested (binomial / beta laws of coverage rates, the
asymptotic sd of an empirical quantile). Deterministic properties (the Gibbs & Candès
identity of ACI, the convex-combination structure of AgACI, the leave-one-out residuals
of EnbPI) are checked exactly.
"""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from _conformal_fakes import StandardErrors, Zero
from sklearn.linear_model import LinearRegression, QuantileRegressor

from bsdl.conformal import (
    ACI,
    SPCI,
    AgACI,
    ConformalIntervals,
    ConformalizedAsymptotic,
    EnbPI,
    ScaledScore,
    SplitConformal,
    block_bootstrap,
    conformal_quantile,
    lag_matrix,
    linear_quantile_regression,
    metrics,
    min_calibration_size,
)

# ----------------------------------------------------------------------------- helpers


class SEModel:
    """Predicts ``2 x0`` with standard error ``factor * (0.5 + |x1|)`` (heteroscedastic)."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def fit(self, X, y):
        return self

    def predict(self, X):
        return 2.0 * np.asarray(X)[:, 0]

    def predict_interval(self, X):
        return StandardErrors(self.factor * (0.5 + np.abs(np.asarray(X)[:, 1])))


def se_model_data(n, rng):
    """Data whose true noise sd is exactly SEModel(1).predict_interval(X).se."""
    X = rng.normal(size=(n, 2))
    y = 2.0 * X[:, 0] + (0.5 + np.abs(X[:, 1])) * rng.normal(size=n)
    return X, y


def split_coverage_sd(n_cal: int, n_test: int, alpha: float) -> float:
    """Exact sd of the test coverage of one split-conformal replicate.

    With exchangeable, continuous scores the coverage conditional on the calibration set
    is ``B ~ Beta(k, n + 1 - k)``, ``k = ceil((n + 1)(1 - alpha))`` (Vovk 2012; Angelopoulos
    & Bates 2021, section 3.2), and the test coverage is ``Binomial(m, B) / m``, so
    ``Var = Var(B) + E[B (1 - B)] / m``.
    """
    k = math.ceil((n_cal + 1) * (1 - alpha) - 1e-9)
    a, b = k, n_cal + 1 - k
    mean = a / (a + b)
    var_b = a * b / ((a + b) ** 2 * (a + b + 1))
    e_b1mb = mean - (var_b + mean**2)
    return math.sqrt(var_b + e_b1mb / n_test)


def binomial_se(p: float, m: int) -> float:
    return math.sqrt(p * (1 - p) / m)


def covered(pi, y):
    return (pi.lower <= y) & (y <= pi.upper)


def shifting_series(seed: int, n: int):
    """Gaussian noise whose scale jumps from 1 to 3 halfway (an abrupt distribution shift)."""
    rng = np.random.default_rng(seed)
    scale = np.where(np.arange(n) < n // 2, 1.0, 3.0)
    return rng.normal(size=n) * scale


def ar1(n: int, phi: float, innovations: np.ndarray) -> np.ndarray:
    z = np.zeros(n)
    for t in range(1, n):
        z[t] = phi * z[t - 1] + innovations[t]
    return z


def assert_same_intervals(a, b):
    for name in ("mean", "lower", "upper"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    if a.alphas is None:
        assert b.alphas is None
    else:
        np.testing.assert_array_equal(a.alphas, b.alphas)


# ----------------------------------------------------- split conformal, exchangeable data

R_REP, N_TRAIN, N_CAL, N_TEST = 200, 50, 50, 200


@pytest.fixture(scope="module")
def split_replicates():
    """Mean test coverage of split conformal over 200 independent replicates.

    Linear model, heteroscedastic *and* heavy-tailed noise ((0.5 + |x0|) * t_3), OLS
    fit on 50 points, calibrated on 50, tested on 200. The guarantee is distribution-free,
    so neither the misspecified noise model nor the small sizes should matter.
    """
    rng = np.random.default_rng(2024)
    beta = np.array([1.0, -2.0, 0.5])
    alphas = (0.1, 0.2)
    cov = {a: [] for a in alphas}
    n = N_TRAIN + N_CAL + N_TEST
    for _ in range(R_REP):
        X = rng.normal(size=(n, 3))
        y = X @ beta + (0.5 + np.abs(X[:, 0])) * rng.standard_t(3, size=n)
        sc = SplitConformal(LinearRegression()).fit(X[:N_TRAIN], y[:N_TRAIN])
        sc.calibrate(X[N_TRAIN : N_TRAIN + N_CAL], y[N_TRAIN : N_TRAIN + N_CAL])
        for a in alphas:
            pi = sc.predict_interval(X[N_TRAIN + N_CAL :], alpha=a)
            cov[a].append(pi.coverage(y[N_TRAIN + N_CAL :]))
    return {a: float(np.mean(c)) for a, c in cov.items()}


@pytest.mark.parametrize("alpha", [0.1, 0.2])
def test_split_conformal_marginal_coverage_between_the_bounds(split_replicates, alpha):
    # Lei et al. (2018), thm 2.2: 1 - alpha <= P(cover) <= 1 - alpha + 1/(n_cal + 1).
    # The mean of R independent replicates has se = sd_one / sqrt(R), sd_one from the
    # exact beta-binomial law (about 0.046 at alpha = 0.1, so se ~ 0.0033).
    se = split_coverage_sd(N_CAL, N_TEST, alpha) / math.sqrt(R_REP)
    mean_cov = split_replicates[alpha]
    assert mean_cov >= 1 - alpha - 3 * se
    assert mean_cov <= 1 - alpha + 1 / (N_CAL + 1) + 3 * se


# ------------------------------------------------------ conformal quantile, minimum size

_ALPHAS = ["0.01", "0.025", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3", "0.5", "0.7", "0.9"]


@pytest.mark.parametrize("alpha_str", _ALPHAS)
def test_conformal_quantile_is_the_ceil_rank_order_statistic(alpha_str):
    from fractions import Fraction

    alpha = float(alpha_str)
    rng = np.random.default_rng(0)
    one_minus = 1 - Fraction(alpha_str)  # exact decimal arithmetic for the rank
    for n in range(min_calibration_size(alpha), 130, 7):
        scores = rng.exponential(size=n)
        k = math.ceil((n + 1) * one_minus)
        assert conformal_quantile(scores, alpha) == np.sort(scores)[k - 1]


@pytest.mark.parametrize("alpha_str", _ALPHAS)
def test_min_calibration_size_is_the_exact_boundary(alpha_str):
    from fractions import Fraction

    alpha = float(alpha_str)
    one_minus = 1 - Fraction(alpha_str)
    n_min = min_calibration_size(alpha)
    # the smallest n whose rank ceil((n + 1)(1 - alpha)) is <= n
    expected = next(n for n in range(1, 10_000) if math.ceil((n + 1) * one_minus) <= n)
    assert n_min == expected
    scores = np.arange(1.0, n_min + 1.0)
    assert conformal_quantile(scores, alpha) <= n_min  # n = min works
    with pytest.raises(ValueError, match=f"at least {n_min} are needed"):
        conformal_quantile(scores[:-1], alpha)  # n = min - 1 raises


def test_min_calibration_size_through_split_conformal():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(9, 1)), rng.normal(size=9)
    sc = SplitConformal(Zero(), prefit=True).calibrate(X, y)  # 9 = min for alpha 0.1
    pi = sc.predict_interval(X, alpha=0.1)
    # rank ceil(10 * 0.9) = 9: the largest of the 9 scores
    np.testing.assert_allclose(pi.upper, np.max(np.abs(y)))
    sc8 = SplitConformal(Zero(), prefit=True).calibrate(X[:8], y[:8])
    with pytest.raises(ValueError, match="at least 9"):
        sc8.predict_interval(X, alpha=0.1)


# ---------------------------------------------------------------------- scaled score


def test_scaled_score_intervals_are_proportional_to_se():
    rng = np.random.default_rng(3)
    X, y = se_model_data(400, rng)
    model = SEModel()
    sc = SplitConformal(model, score="scaled", prefit=True).calibrate(X[:200], y[:200])
    pi = sc.predict_interval(X[200:], alpha=0.1)
    se = model.predict_interval(X[200:]).se
    expected_scores = np.abs(y[:200] - model.predict(X[:200])) / model.predict_interval(X[:200]).se
    q = conformal_quantile(expected_scores, 0.1)
    np.testing.assert_allclose(sc.scores_, expected_scores)
    np.testing.assert_allclose(pi.mean, model.predict(X[200:]))
    np.testing.assert_allclose(pi.upper - pi.mean, q * se, rtol=1e-12)
    np.testing.assert_allclose(pi.mean - pi.lower, q * se, rtol=1e-12)
    # widths vary like se (not constant as with the absolute score)
    np.testing.assert_allclose(pi.width / se, 2 * q, rtol=1e-12)
    assert pi.width.std() > 0.1 * pi.width.mean()


def test_scaled_score_with_a_custom_scale_callable():
    rng = np.random.default_rng(4)
    X, y = se_model_data(300, rng)
    score = ScaledScore(scale=lambda est, X: 1.0 + np.abs(X[:, 1]))
    sc = SplitConformal(SEModel(), score=score, prefit=True).calibrate(X[:150], y[:150])
    pi = sc.predict_interval(X[150:], alpha=0.2)
    q = conformal_quantile(np.abs(y[:150] - 2 * X[:150, 0]) / (1 + np.abs(X[:150, 1])), 0.2)
    np.testing.assert_allclose(pi.width, 2 * q * (1 + np.abs(X[150:, 1])), rtol=1e-12)


def test_scaled_score_with_a_fitted_sparse_mlp(fitted_regressor, reg_data):
    # a real bsdl model (the session fixture, fitted once, used read-only with prefit)
    _, _, X_new, y_new = reg_data
    ca = ConformalizedAsymptotic(fitted_regressor).calibrate(X_new[:100], y_new[:100])
    pi = ca.predict_interval(X_new[100:], alpha=0.1)
    se = fitted_regressor.predict_interval(X_new[100:]).se
    q = conformal_quantile(ca.scores_, 0.1)
    np.testing.assert_allclose(pi.mean, fitted_regressor.predict(X_new[100:]), rtol=1e-6)
    np.testing.assert_allclose(pi.upper - pi.mean, q * se, rtol=1e-6)
    np.testing.assert_allclose(pi.mean - pi.lower, q * se, rtol=1e-6)


# ----------------------------------------------------------- conformalized asymptotic

N_CA, M_CA = 5000, 2000
Z90 = NormalDist().inv_cdf(0.95)


def _z_ratio_sd(alpha: float, n: int) -> float:
    """Asymptotic sd of q / z when the scores are |Z| (se correctly specified).

    q is the empirical (1 - alpha)-quantile of n half-normal scores: sd(q) =
    sqrt(p (1 - p) / n) / f(q) with f = 2 phi the half-normal density (Serfling 1980,
    2.3.3); at alpha 0.1, n 5000: sd(q) ~ 0.0206 and sd(q / z) ~ 0.0125.
    """
    z = NormalDist().inv_cdf(1 - alpha / 2)
    f = 2 * NormalDist().pdf(z)
    return math.sqrt(alpha * (1 - alpha) / n) / f / z


def test_conformalized_asymptotic_z_ratio_near_one_when_se_is_right():
    rng = np.random.default_rng(10)
    X, y = se_model_data(N_CA, rng)
    ca = ConformalizedAsymptotic(SEModel()).calibrate(X, y)
    # tolerance: 4 sd of the empirical quantile, plus the rank bias: the order
    # statistic of rank ceil((n+1)(1-alpha)) sits up to 1/(n+1) above level 1 - alpha,
    # i.e. (1/(n+1)) / f(z) / z ~ 0.0015 in the ratio
    bias = (1 / (N_CA + 1)) / (2 * NormalDist().pdf(Z90)) / Z90
    assert abs(ca.z_ratio(0.1) - 1.0) <= 4 * _z_ratio_sd(0.1, N_CA) + bias


def test_conformalized_asymptotic_corrects_an_underestimated_se():
    rng = np.random.default_rng(11)
    X, y = se_model_data(N_CA + M_CA, rng)
    Xc, yc, Xt, yt = X[:N_CA], y[:N_CA], X[N_CA:], y[N_CA:]
    model = SEModel(factor=0.5)  # reported se is half the true noise sd
    ca = ConformalizedAsymptotic(model).calibrate(Xc, yc)
    # scores are 2 |Z|: q / z ~ 2 with twice the sd and bias of the previous test
    bias = 2 * (1 / (N_CA + 1)) / (2 * NormalDist().pdf(Z90)) / Z90
    assert abs(ca.z_ratio(0.1) - 2.0) <= 2 * 4 * _z_ratio_sd(0.1, N_CA) + bias
    pi = ca.predict_interval(Xt, alpha=0.1)
    # split-conformal coverage is restored: sd from the beta-binomial law (~0.0079)
    assert pi.coverage(yt) >= 0.9 - 3 * split_coverage_sd(N_CA, M_CA, 0.1)
    # while the naive asymptotic interval f -+ z se covers only P(|Z| <= z/2) ~ 0.59
    se = model.predict_interval(Xt).se
    naive = np.mean(np.abs(yt - model.predict(Xt)) <= Z90 * se)
    expected_naive = 2 * NormalDist().cdf(Z90 / 2) - 1
    assert abs(naive - expected_naive) <= 4 * binomial_se(expected_naive, M_CA)


# ------------------------------------------------------------------------- ACI / AgACI

N_CAL_TS, T_TS, WINDOW = 200, 4000, 200


@pytest.fixture(scope="module")
def shifting():
    y = shifting_series(7, N_CAL_TS + T_TS)
    X = np.zeros((y.size, 1))
    return X[:N_CAL_TS], y[:N_CAL_TS], X[N_CAL_TS:], y[N_CAL_TS:]


@pytest.mark.parametrize("gamma", [0.005, 0.01, 0.05])
def test_aci_gibbs_candes_bound_holds_exactly(shifting, gamma):
    Xc, yc, Xt, yt = shifting
    alpha = 0.1
    aci = ACI(Zero(), prefit=True, gamma=gamma, window=WINDOW).calibrate(Xc, yc)
    pi = aci.predict_online(Xt, yt, alpha=alpha)
    # the nominal interval is infinite (never misses) while alpha_t < 1/(n+1), n = WINDOW
    # scores in force; the reported interval is capped there, so the update counts no miss
    nominal_infinite = pi.alphas < 1.0 / (WINDOW + 1)
    err = ((~covered(pi, yt)) & ~nominal_infinite).astype(float)
    assert pi.alphas is not None and pi.alphas.shape == (T_TS,)
    assert pi.alphas.min() >= -gamma  # no wind-up below -gamma
    assert pi.alphas[0] == alpha  # the path starts at alpha
    # the update alpha_{t+1} = alpha_t + gamma (alpha - err_t), step by step
    np.testing.assert_allclose(np.diff(pi.alphas), gamma * (alpha - err[:-1]), atol=1e-12)
    # telescoping: mean(err) - alpha = (alpha_1 - alpha_{T+1}) / (gamma T), exactly
    alpha_next = pi.alphas[-1] + gamma * (alpha - err[-1])
    np.testing.assert_allclose(
        err.mean() - alpha, (alpha - alpha_next) / (gamma * T_TS), atol=1e-12
    )
    # Gibbs & Candes (2021), prop. 4.1: |mean(err) - alpha| <= (max(a, 1-a) + g) / (g T);
    # deterministic given the update, so it is checked with float slack only
    bound = (max(alpha, 1 - alpha) + gamma) / (gamma * T_TS)
    assert abs(err.mean() - alpha) <= bound + 1e-12


def test_split_conformal_without_adaptation_undercovers_the_shifted_series(shifting):
    Xc, yc, Xt, yt = shifting
    sc = SplitConformal(Zero(), prefit=True).calibrate(Xc, yc)
    cov = sc.predict_online(Xt, yt, alpha=0.1).coverage(yt)
    # expected ~ 0.5 * 0.9 + 0.5 * P(|Z| <= 1.645 / 3) ~ 0.66; binomial se at T=4000 is
    # ~0.0075, so 0.8 is > 15 se above it and > 10 se below 0.9
    assert cov < 0.8
    aci = ACI(Zero(), prefit=True, gamma=0.01, window=WINDOW).calibrate(Xc, yc)
    assert aci.predict_online(Xt, yt, alpha=0.1).coverage(yt) > 0.9 - 0.023  # G&C bound


GAMMAS = (0.001, 0.004, 0.016, 0.064)


@pytest.fixture(scope="module")
def agaci_and_experts(shifting):
    Xc, yc, Xt, yt = shifting
    ag = AgACI(Zero(), prefit=True, gammas=GAMMAS, window=WINDOW).calibrate(Xc, yc)
    pi = ag.predict_online(Xt, yt, alpha=0.1)
    experts = [
        ACI(Zero(), prefit=True, gamma=g, window=WINDOW)
        .calibrate(Xc, yc)
        .predict_online(Xt, yt, alpha=0.1)
        for g in GAMMAS
    ]
    return pi, experts


def test_agaci_coverage_near_nominal(agaci_and_experts, shifting):
    pi, _ = agaci_and_experts
    yt = shifting[3]
    # AgACI has no finite-T coverage guarantee (its regret bound is on the pinball
    # loss). Tolerance: 3 binomial se at T = 4000 (0.014) plus an explicit 0.01
    # allowance for the aggregation lag after the shift; split conformal misses by ~0.24.
    tol = 3 * binomial_se(0.9, T_TS) + 0.01
    assert abs(pi.coverage(yt) - 0.9) <= tol


def test_agaci_bounds_are_convex_combinations_of_the_experts(agaci_and_experts, shifting):
    pi, experts = agaci_and_experts
    yt = shifting[3]
    lo = np.stack([e.lower for e in experts])
    up = np.stack([e.upper for e in experts])
    w = np.stack([e.width for e in experts])
    eps = 1e-9
    assert np.all(pi.lower >= lo.min(0) - eps) and np.all(pi.lower <= lo.max(0) + eps)
    assert np.all(pi.upper >= up.min(0) - eps) and np.all(pi.upper <= up.max(0) + eps)
    # symmetric score: width = sum_k w_lo q_k + sum_k w_up q_k, in [2 min q, 2 max q]
    assert np.all(pi.width >= w.min(0) - eps) and np.all(pi.width <= w.max(0) + eps)
    # hence its coverage lies between that of the narrowest and the widest expert row-wise
    inner = np.mean((lo.max(0) <= yt) & (yt <= up.min(0)))
    outer = np.mean((lo.min(0) <= yt) & (yt <= up.max(0)))
    assert inner <= pi.coverage(yt) <= outer


def test_agaci_with_one_gamma_is_aci(shifting):
    Xc, yc, Xt, yt = shifting
    ag = AgACI(Zero(), prefit=True, gammas=[0.02], window=WINDOW).calibrate(Xc, yc)
    aci = ACI(Zero(), prefit=True, gamma=0.02, window=WINDOW).calibrate(Xc, yc)
    a, b = ag.predict_online(Xt[:500], yt[:500], 0.1), aci.predict_online(Xt[:500], yt[:500], 0.1)
    np.testing.assert_allclose(a.lower, b.lower, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.upper, b.upper, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------- EnbPI


def test_enbpi_online_coverage_on_an_ar1_lag_design():
    rng = np.random.default_rng(0)
    z = ar1(1702, 0.7, rng.normal(size=1702))
    X, y = lag_matrix(z, 2)  # 1700 rows
    n_tr = 500
    e = EnbPI(LinearRegression(), n_bootstraps=20, random_state=0).fit(X[:n_tr], y[:n_tr])
    pi = e.predict_online(X[n_tr:], y[n_tr:], alpha=0.1)
    m = y.size - n_tr
    # correctly specified AR model: residuals ~ iid innovations. The quantile of the
    # n_left_out (~500) residuals has coverage sd sqrt(a(1-a)/n), the test rate adds
    # sqrt(a(1-a)/m): band 3 * sqrt(a (1 - a) (1/m + 1/n)) ~ 0.048
    sd = math.sqrt(0.1 * 0.9 * (1 / m + 1 / e.n_left_out_))
    assert abs(pi.coverage(y[n_tr:]) - 0.9) <= 3 * sd


class RecordingLR(LinearRegression):
    """LinearRegression that ignores column 0 (a row id) and records the rows it saw."""

    def fit(self, X, y):
        self.rows_ = X[:, 0].astype(int)
        return super().fit(X[:, 1:], y)

    def predict(self, X):
        return super().predict(X[:, 1:])


def test_enbpi_leave_one_out_residuals_and_block_samples():
    rng = np.random.default_rng(5)
    n, B, L = 60, 3, 10
    feats = rng.normal(size=(n, 2))
    y = feats @ [1.0, -1.0] + rng.normal(size=n)
    X = np.column_stack([np.arange(n), feats])
    e = EnbPI(RecordingLR(), n_bootstraps=B, block_length=L, random_state=3).fit(X, y)
    assert len(e.estimators_) == B and e.block_length_ == L
    in_sample = np.zeros((B, n), dtype=bool)
    for k, est in enumerate(e.estimators_):
        rows = est.rows_
        assert rows.size == n
        # made of whole blocks [s, s + L) with s a multiple of L
        assert np.all(rows[::L] % L == 0)
        np.testing.assert_array_equal(rows, np.repeat(rows[::L], L) + np.tile(np.arange(L), n // L))
        in_sample[k, rows] = True
    keep = ~in_sample.all(axis=0)  # rows in every bootstrap sample have no LOO model
    assert 0 < keep.sum() < n, "seed should leave some rows in every sample"
    assert e.residuals_.shape == (keep.sum(),) and e.n_left_out_ == keep.sum()
    preds = np.stack([est.predict(X) for est in e.estimators_])
    loo = np.array([preds[~in_sample[:, i], i].mean() for i in np.flatnonzero(keep)])
    np.testing.assert_allclose(e.residuals_, y[keep] - loo, rtol=1e-10, atol=1e-10)


def test_block_bootstrap_contiguous_blocks_and_seeding():
    n, L = 23, 5  # the last block, rows 20..22, is shorter
    samples = block_bootstrap(n, L, 50, np.random.default_rng(0))
    assert len(samples) == 50
    for idx in samples:
        assert idx.ndim == 1 and idx.size <= n and idx.min() >= 0 and idx.max() < n
        p = 0
        while p < idx.size:  # parse the sample block by block
            s = int(idx[p])
            assert s % L == 0, "a block starts at a multiple of block_length"
            block = np.arange(s, min(s + L, n))[: n - p]
            np.testing.assert_array_equal(idx[p : p + block.size], block)
            p += block.size
    again = block_bootstrap(n, L, 50, np.random.default_rng(0))
    other = block_bootstrap(n, L, 50, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(samples, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(samples, other, strict=True))


def test_block_bootstrap_samples_have_n_indices_when_blocks_do_not_divide_n():
    samples = block_bootstrap(23, 5, 50, np.random.default_rng(0))
    assert [idx.size for idx in samples] == [23] * 50


def test_enbpi_random_state_reproducible_and_seed_dependent():
    rng = np.random.default_rng(6)
    z = ar1(402, 0.5, rng.normal(size=402))
    X, y = lag_matrix(z, 2)
    kw = dict(n_bootstraps=8, block_length=5)
    a = EnbPI(LinearRegression(), random_state=1, **kw).fit(X[:300], y[:300])
    b = EnbPI(LinearRegression(), random_state=1, **kw).fit(X[:300], y[:300])
    c = EnbPI(LinearRegression(), random_state=2, **kw).fit(X[:300], y[:300])
    np.testing.assert_array_equal(a.residuals_, b.residuals_)
    assert_same_intervals(a.predict_online(X[300:], y[300:]), b.predict_online(X[300:], y[300:]))
    assert a.residuals_.shape != c.residuals_.shape or not np.array_equal(
        a.residuals_, c.residuals_
    )
    assert not np.array_equal(a.predict(X[300:]), c.predict(X[300:]))


def test_enbpi_asymmetric_intervals_narrower_on_skewed_noise():
    rng = np.random.default_rng(100)
    z = ar1(2102, 0.7, rng.exponential(size=2102) - 1.0)  # centred Exp(1): right-skewed
    X, y = lag_matrix(z, 2)
    n_tr = 600
    m = y.size - n_tr
    out = {}
    for sym in (True, False):
        e = EnbPI(LinearRegression(), n_bootstraps=20, random_state=0, symmetric=sym)
        pi = e.fit(X[:n_tr], y[:n_tr]).predict_online(X[n_tr:], y[n_tr:], alpha=0.1)
        out[sym] = (pi.coverage(y[n_tr:]), pi.width.mean())
    # population widths for Exp(1) noise: shortest 90% interval 2.30, symmetric about
    # the mean 2.61 (ratio 0.88); the beta search must find the narrower one
    assert out[False][1] < out[True][1]
    # and keep valid coverage: 3 sd of (test rate + residual-quantile) noise ~ 0.042
    sd = math.sqrt(0.1 * 0.9 * (1 / m + 1 / n_tr))
    assert out[False][0] >= 0.9 - 3 * sd


# -------------------------------------------------------------------------------- SPCI


def test_spci_narrower_than_split_on_ar1_residuals():
    rng = np.random.default_rng(0)
    n_cal, m, phi = 400, 600, 0.8
    e = ar1(n_cal + m, phi, rng.normal(size=n_cal + m))
    X = np.zeros((e.size, 1))
    sp = SPCI(Zero(), prefit=True, n_lags=1, refit_every=20).calibrate(X[:n_cal], e[:n_cal])
    pi_sp = sp.predict_online(X[n_cal:], e[n_cal:], alpha=0.1)
    sc = SplitConformal(Zero(), prefit=True).calibrate(X[:n_cal], e[:n_cal])
    pi_sc = sc.predict_online(X[n_cal:], e[n_cal:], alpha=0.1)
    cov_sp, cov_sc = pi_sp.coverage(e[n_cal:]), pi_sc.coverage(e[n_cal:])
    # SPCI's misses given the past are ~independent: binomial band, 3 se ~ 0.037.
    # (Observed across seeds: SPCI sits ~0.01-0.02 below 1 - alpha, inside this band.)
    assert abs(cov_sp - 0.9) <= 3 * binomial_se(0.9, m)
    # split conformal on dependent residuals: indicator autocorrelation <= phi^(2k)
    # (even function, Hermite rank 2), variance inflation <= (1+phi^2)/(1-phi^2) = 4.6
    infl = (1 + phi**2) / (1 - phi**2)
    sd_sc = math.sqrt(infl * 0.1 * 0.9 * (1 / n_cal + 1 / m))
    assert abs(cov_sc - 0.9) <= 3 * sd_sc
    # similar coverage, much narrower: width ratio ~ conditional / marginal sd =
    # sqrt(1 - phi^2) = 0.6; 0.8 leaves room for quantile-estimation noise
    assert pi_sp.width.mean() < 0.8 * pi_sc.width.mean()


def _pinball(b, X, y, tau):
    r = y - b[0] - X @ b[1:]
    return float(np.mean(np.maximum(tau * r, (tau - 1) * r)))


def _qr_problem(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(201, 3))  # odd n, continuous data: a unique LP solution
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=201)
    return X, y


def _sklearn_qr(X, y, tau):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = QuantileRegressor(quantile=tau, alpha=0.0, solver="highs").fit(X, y)
    return np.r_[q.intercept_, q.coef_]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_quantile_regression_is_the_exact_lp_solution(seed):
    # both solve the same linear programme exactly (HiGHS): agreement to solver precision,
    # and no coefficient vector has a lower pinball loss
    X, y = _qr_problem(seed)
    for tau in (0.1, 0.5, 0.9):
        ref = _sklearn_qr(X, y, tau)
        b = linear_quantile_regression(X, y, tau)
        np.testing.assert_allclose(b, ref, atol=1e-6)
        assert _pinball(b, X, y, tau) <= _pinball(ref, X, y, tau) + 1e-9
        assert _pinball(b, X, y, tau) < _pinball(b + 0.01, X, y, tau)


# -------------------------------------------------------------------------- lag_matrix


def test_lag_matrix_matches_a_manual_construction():
    rng = np.random.default_rng(8)
    z = rng.normal(size=12)
    ex1 = rng.normal(size=12)
    ex2 = rng.normal(size=(12, 2))
    lags = 3
    X, y = lag_matrix(z, lags)
    manual = np.array([[z[t - j] for j in range(1, lags + 1)] for t in range(lags, 12)])
    np.testing.assert_array_equal(X, manual)
    np.testing.assert_array_equal(y, z[lags:])
    X1, y1 = lag_matrix(z, lags, exog=ex1)
    np.testing.assert_array_equal(X1, np.column_stack([manual, ex1[lags:]]))
    np.testing.assert_array_equal(y1, z[lags:])
    X2, _ = lag_matrix(list(z), lags, exog=pd.DataFrame(ex2))
    np.testing.assert_array_equal(X2, np.hstack([manual, ex2[lags:]]))
    # y is a copy, not a view of the series
    y[0] = 1e9
    assert z[lags] != 1e9


# ---------------------------------------------------- state, mutation, result containers


def _online_objects():
    rng = np.random.default_rng(9)
    z = ar1(302, 0.6, rng.normal(size=302))
    X, y = lag_matrix(z, 2)
    tr, cal, te = slice(0, 100), slice(100, 200), slice(200, 300)
    lr = LinearRegression()
    objs = {
        "split": SplitConformal(lr, window=50).fit(X[tr], y[tr]),
        "aci": ACI(lr, gamma=0.05, window=50).fit(X[tr], y[tr]),
        "agaci": AgACI(lr, gammas=(0.01, 0.05), window=50).fit(X[tr], y[tr]),
        "spci": SPCI(lr, n_lags=2, window=60, refit_every=10).fit(X[tr], y[tr]),
    }
    for o in objs.values():
        o.calibrate(X[cal], y[cal])
    objs["enbpi"] = EnbPI(lr, n_bootstraps=5, random_state=0).fit(X[:200], y[:200])
    return objs, X[te], y[te]


def test_predict_online_leaves_the_fitted_state_unchanged():
    objs, Xt, yt = _online_objects()
    for name, o in objs.items():
        before = {k: np.copy(getattr(o, k)) for k in ("scores_", "residuals_") if hasattr(o, k)}
        first = o.predict_online(Xt, yt, alpha=0.1)
        second = o.predict_online(Xt, yt, alpha=0.1)
        assert_same_intervals(first, second)
        for k, v in before.items():
            np.testing.assert_array_equal(getattr(o, k), v, err_msg=f"{name}.{k} changed")
        assert_same_intervals(o.predict_interval(Xt, 0.1), o.predict_interval(Xt, 0.1))


def test_user_arrays_are_not_mutated():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=300)
    X0, y0 = X.copy(), y.copy()
    lr = LinearRegression()
    for o in (
        SplitConformal(lr, window=30),
        ACI(lr, window=30),
        AgACI(lr, gammas=(0.01, 0.1)),
        SPCI(lr, n_lags=2, window=50, refit_every=25),
    ):
        o.fit(X[:100], y[:100]).calibrate(X[100:200], y[100:200])
        o.predict_interval(X[200:], 0.1)
        o.predict_online(X[200:], y[200:], 0.1)
    e = EnbPI(lr, n_bootstraps=4, random_state=0).fit(X[:200], y[:200])
    e.predict_interval(X[200:], 0.1)
    e.predict_online(X[200:], y[200:], 0.1)
    model = SEModel()
    ca = ConformalizedAsymptotic(model).calibrate(X[:200], y[:200])
    ca.predict_online(X[200:], y[200:], 0.1)
    lag_matrix(y, 3, exog=X)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_conformal_intervals_to_frame_columns():
    objs, Xt, yt = _online_objects()
    f = objs["split"].predict_interval(Xt, 0.1).to_frame()
    assert list(f.columns) == ["mean", "lower", "upper"]
    assert len(f) == len(Xt)
    pi = objs["aci"].predict_online(Xt, yt, 0.1)
    fa = pi.to_frame()
    assert list(fa.columns) == ["mean", "lower", "upper", "alpha"]
    np.testing.assert_array_equal(fa["lower"].to_numpy(), pi.lower)
    np.testing.assert_array_equal(fa["alpha"].to_numpy(), pi.alphas)
    assert fa["alpha"].iloc[0] == 0.1
    assert len(pi) == len(Xt) and pi.method == "ACI"
    np.testing.assert_allclose(pi.width, pi.upper - pi.lower)


def test_conformal_and_prediction_intervals_share_the_base():
    from bsdl.results import Intervals, PredictionIntervals

    objs, Xt, yt = _online_objects()
    ci = objs["split"].predict_interval(Xt, 0.1)
    aci = objs["aci"].predict_online(Xt, yt, 0.1)
    assert isinstance(ci, Intervals) and isinstance(aci, Intervals)
    # the same bounds give the same frame columns, coverage and interval score in either kind
    se = (ci.upper - ci.mean) / NormalDist().inv_cdf(0.95)  # PI ends = ci's up to rounding
    pi = PredictionIntervals(ci.mean, se, 0.1)
    np.testing.assert_allclose(pi.lower, ci.lower, rtol=0, atol=1e-12)
    same = ConformalIntervals(pi.mean, pi.lower, pi.upper, 0.1, "copy")
    assert same.coverage(yt) == pi.coverage(yt) == metrics.coverage(yt, pi.lower, pi.upper)
    assert same.interval_score(yt) == pi.interval_score(yt)
    assert same.interval_score(yt) == pytest.approx(
        metrics.interval_score(yt, pi.lower, pi.upper, 0.1), rel=1e-12
    )
    cols = ["mean", "lower", "upper"]
    pd.testing.assert_frame_equal(same.to_frame(), pi.to_frame()[cols])
    assert aci.interval_score(yt) == pytest.approx(
        metrics.interval_score(yt, aci.lower, aci.upper, 0.1), rel=1e-12
    )
    # intervals are read-only, and the adaptive levels too
    for arr in (ci.mean, ci.lower, aci.alphas):
        with pytest.raises(ValueError):
            arr[0] = 0.0
    assert "method='ACI'" in repr(aci)


def test_conformal_intervals_checks():
    with pytest.raises(ValueError, match="alphas has 2 values but mean has 3"):
        ConformalIntervals(np.zeros(3), -np.ones(3), np.ones(3), 0.1, "m", np.ones(2))
    with pytest.raises(TypeError, match="method must be a str"):
        ConformalIntervals(np.zeros(3), -np.ones(3), np.ones(3), 0.1, method=3)
    with pytest.raises(ValueError, match="lower must be <= upper"):
        ConformalIntervals(np.zeros(2), np.ones(2), -np.ones(2), 0.1)
