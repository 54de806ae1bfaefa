"""Cross-check of bsdl.conformal.EnbPI and ACI against MAPIE's ``TimeSeriesRegressor``.

Same base regressor (scikit-learn ``LinearRegression`` on a :func:`lag_matrix` of a
simulated AR(2) series), same seeds, settings matched as far as the two APIs allow.

What MAPIE (>= 1.0) does, read from its source, and where bsdl differs by design:

* EnbPI, ``method="enbpi"`` with a ``cv`` splitter. The leave-one-out (LOO) residual of
  training row i is ``y_i`` minus the mean of the models whose sample left i out: the
  same as bsdl. MAPIE accepts any ``BaseCrossValidator``, so :class:`FixedSplits`
  hands it bsdl's own bootstrap samples and the two LOO residual sets are identical.
  Differences left:

  - test centre: MAPIE's bounds are centred on the mean over training rows j of the
    LOO-aggregated prediction of j (``_aggregate_with_mask`` then ``nanmean``), a
    weighted mean of the B models with weights ``mean_j 1[j not in S_b] / c_j``;
    bsdl uses the plain mean of the B models. The two differ by a fraction of a percent
    of the width here.
  - quantile: MAPIE takes the conformal ``ceil((n+1)(1-alpha))``-th smallest score;
    bsdl takes the plain empirical ``np.quantile(.., 1-alpha, method="higher")``, the
    ``(ceil((n-1)(1-alpha)) + 1)``-th smallest (the EnbPI paper's rule). For
    ``1 - alpha >= 1/2`` MAPIE's rank equals bsdl's or is one more.
  - MAPIE's ``BlockBootstrap(length=L)`` cuts ``n // L`` full blocks (the last
    ``n % L`` rows are in no sample), draws ``n // L + 1`` of them and keeps all their
    rows (more than n); bsdl cuts ``ceil(n / L)`` blocks (the last may be short),
    draws blocks until it holds n rows and keeps the first n. MAPIE also has
    overlapping blocks.
  - online: MAPIE's ``update(X, y, ensemble=True)`` drops the oldest scores and
    appends the new ones against its ensemble centre (``ensemble=False``, the default,
    scores them against the model fitted on all training rows instead); bsdl slides
    the same window against its own centre.
  - asymmetric: MAPIE's default score for time series is signed; ``optimize_beta``
    searches 100 betas in ``[1/(n+1), alpha]`` with plain quantiles, then reads the
    bounds with the conformal ranks; bsdl searches 21 betas in ``[0, alpha]`` with
    plain ``lower``/``higher`` quantiles.

* ACI, ``method="aci"``: with ``cv="prefit"`` and a symmetric absolute score it is split
  conformal on the calibration set, like bsdl's :class:`ACI` with ``prefit=True``. Its
  ``adapt_conformal_inference`` re-predicts the interval of each row with the current
  ``alpha_t``, counts a miss when ``y`` is not strictly inside, and sets
  ``alpha_{t+1} = clip(alpha_t + gamma (alpha - err_t), 0, 1)``; ``update`` slides the
  calibration scores. Called in the order predict, adapt, update at every step, it is
  bsdl's ACI with ``window = n_cal``, and the two paths agree to rounding as long as the
  conformal quantile exists (``alpha_t >= 1/(n_cal+1)``). Below that bsdl keeps the
  unclipped ``alpha_t`` and uses the largest score in force, while MAPIE clips
  ``alpha_t`` at 0 and needs an infinite interval (which its symmetric-score path of
  ``get_bounds`` refuses with a ValueError, as ``unbounded`` is not passed there).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("mapie", minversion="1.0")

from mapie.conformity_scores import AbsoluteConformityScore  # noqa: E402
from mapie.regression import TimeSeriesRegressor  # noqa: E402
from mapie.subsample import BlockBootstrap  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.model_selection import BaseCrossValidator  # noqa: E402

import bsdl.conformal.enbpi as enbpi_module  # noqa: E402
from bsdl.conformal import ACI, EnbPI, lag_matrix  # noqa: E402

ALPHA = 0.1
B = 20  # bootstrap models
L = 7  # block length, round(300 ** (1/3)) = 7 as bsdl's default would pick
LAGS = 3


def ar_series(n: int, seed: int) -> np.ndarray:
    """A stationary AR(2) series, ``z_t = 0.6 z_{t-1} - 0.3 z_{t-2} + N(0, 1)`` (burn-in 100)."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n + 100)
    z = np.zeros(n + 100)
    for t in range(2, n + 100):
        z[t] = 0.6 * z[t - 1] - 0.3 * z[t - 2] + e[t]
    return z[100:]


def two_se(n: int, alpha: float = ALPHA) -> float:
    """Two binomial standard errors of an empirical coverage over n points."""
    return 2.0 * math.sqrt(alpha * (1.0 - alpha) / n)


def covered(y, lower, upper) -> np.ndarray:
    return (lower <= y) & (y <= upper)


def assert_same_coverage(y, lower, upper, pi, max_disagree: float | None = None) -> None:
    """MAPIE's intervals ``[lower, upper]`` cover ``y`` as often as bsdl's ``pi``, within two
    binomial standard errors; with ``max_disagree``, they also disagree on at most that
    share of the points."""
    assert abs(covered(y, lower, upper).mean() - pi.coverage(y)) <= two_se(y.size)
    if max_disagree is not None:
        disagree = covered(y, lower, upper) != covered(y, pi.lower, pi.upper)
        assert disagree.mean() <= max_disagree


class FixedSplits(BaseCrossValidator):
    """A MAPIE ``cv`` yielding given bootstrap samples: (sample, rows left out)."""

    def __init__(self, samples, n):
        self.samples = samples
        self.n = n

    def split(self, X=None, y=None, groups=None):
        rows = np.arange(self.n)
        for idx in self.samples:
            yield np.asarray(idx), np.setdiff1d(rows, idx)

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(self.samples)


def fit_enbpi_pair(monkeypatch, X, y, **bsdl_kwargs):
    """bsdl's EnbPI and the bootstrap samples it drew (recorded, not re-derived)."""
    drawn = []
    original = enbpi_module.block_bootstrap

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        drawn.extend(out)
        return out

    monkeypatch.setattr(enbpi_module, "block_bootstrap", recording)
    est = EnbPI(LinearRegression(), n_bootstraps=B, block_length=L, random_state=0, **bsdl_kwargs)
    est.fit(X, y)
    monkeypatch.undo()
    assert len(drawn) == B
    return est, drawn


def mapie_enbpi(samples, X, y, sym=True):
    score = AbsoluteConformityScore(sym=sym)
    m = TimeSeriesRegressor(
        LinearRegression(),
        method="enbpi",
        cv=FixedSplits(samples, len(X)),
        agg_function="mean",
        conformity_score=score,
    )
    return m.fit(X, y)


def mapie_bounds(m, X, **kwargs):
    _, pis = m.predict(X, confidence_level=1 - ALPHA, ensemble=True, **kwargs)
    return pis[:, 0, 0], pis[:, 1, 0]


def mapie_enbpi_online(m, X, y):
    """MAPIE's EnbPI online: interval of row t, then slide the scores with y[t]."""
    lower = np.empty(len(y))
    upper = np.empty(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # update() warns about its changed API at each call
        for t in range(len(y)):
            lower[t : t + 1], upper[t : t + 1] = mapie_bounds(m, X[t : t + 1])
            m.update(X[t : t + 1], y[t : t + 1], ensemble=True)
    return lower, upper


def mapie_centre_weights(samples, n):
    """Weights of the B models in MAPIE's EnbPI test centre (see the module docstring)."""
    out = np.ones((len(samples), n))
    for b, idx in enumerate(samples):
        out[b, idx] = 0.0
    counts = out.sum(axis=0)
    keep = counts > 0
    return (out[:, keep] / counts[keep]).mean(axis=1)


# ----------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def lagged():
    X, y = lag_matrix(ar_series(700, 0), LAGS)
    return X, y  # 697 rows: up to 305 for training, the rest for testing


def enbpi_split(lagged, n_train):
    X, y = lagged
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


# -------------------------------------------------------------------- EnbPI, offline


@pytest.mark.parametrize("n_train", [300, 305])
def test_enbpi_same_samples_offline(monkeypatch, lagged, n_train):
    Xtr, ytr, Xte, yte = enbpi_split(lagged, n_train)
    e, samples = fit_enbpi_pair(monkeypatch, Xtr, ytr)
    assert e.n_left_out_ == n_train  # every row out of some sample: no NaN score in MAPIE
    m = mapie_enbpi(samples, Xtr, ytr)

    # identical LOO scores (same samples, same deterministic base model)
    np.testing.assert_allclose(m.conformity_scores_, np.abs(e.residuals_), atol=1e-10)

    # the centres: MAPIE's is a weighted mean of bsdl's B models
    lo_m, up_m = mapie_bounds(m, Xte)
    pi = e.predict_interval(Xte, ALPHA)
    centre_m = (lo_m + up_m) / 2
    preds = np.stack([est.predict(Xte) for est in e.estimators_])
    np.testing.assert_allclose(centre_m, mapie_centre_weights(samples, n_train) @ preds, atol=1e-9)
    shift = np.abs(centre_m - pi.mean).max()
    assert shift < 0.01 * pi.width.mean()

    # the half-widths: order statistics of the same scores, ranks of each rule
    s = np.sort(np.abs(e.residuals_))
    rank_b = math.ceil((n_train - 1) * (1 - ALPHA)) + 1  # np.quantile(..., "higher")
    rank_m = math.ceil((n_train + 1) * (1 - ALPHA))  # conformal
    assert rank_m - rank_b in (0, 1)
    np.testing.assert_allclose(pi.width, 2 * s[rank_b - 1], rtol=1e-12)
    np.testing.assert_allclose(up_m - lo_m, 2 * s[rank_m - 1], rtol=1e-12)
    if rank_m == rank_b:  # n_train=300
        np.testing.assert_allclose(up_m - lo_m, pi.width, rtol=1e-12)
    else:  # n_train=305: MAPIE one order statistic wider
        assert 1.0 < (up_m - lo_m).mean() / pi.width.mean() < 1.02

    # coverage: the intervals differ by the small shift (and at most one rank)
    assert_same_coverage(yte, lo_m, up_m, pi, max_disagree=0.02)


# --------------------------------------------------------------------- EnbPI, online


@pytest.mark.parametrize("n_train", [300, 305])
def test_enbpi_same_samples_online(monkeypatch, lagged, n_train):
    Xtr, ytr, Xte, yte = enbpi_split(lagged, n_train)
    Xte, yte = Xte[:250], yte[:250]
    e, samples = fit_enbpi_pair(monkeypatch, Xtr, ytr)
    m = mapie_enbpi(samples, Xtr, ytr)

    pi = e.predict_online(Xte, yte, ALPHA)
    lo_m, up_m = mapie_enbpi_online(m, Xte, yte)
    w_m, w_b = up_m - lo_m, pi.width
    shift = np.abs((lo_m + up_m) / 2 - pi.mean).max()
    assert shift < 0.01 * w_b.mean()

    if n_train == 300:
        # same rank: each window score moves by at most `shift`, hence so does every
        # order statistic, and the width by at most 2 * shift
        assert np.all(np.abs(w_m - w_b) <= 2 * shift + 1e-12)
    assert abs(w_m.mean() / w_b.mean() - 1) < 0.02

    assert_same_coverage(yte, lo_m, up_m, pi, max_disagree=0.02)


# ------------------------------------------------ EnbPI, each library's own bootstrap


def test_enbpi_own_block_bootstraps_agree(lagged):
    """Different samples (MAPIE's BlockBootstrap, bsdl's), same B and block length."""
    Xtr, ytr, Xte, yte = enbpi_split(lagged, 300)
    e = EnbPI(LinearRegression(), n_bootstraps=B, block_length=L, random_state=0)
    pi = e.fit(Xtr, ytr).predict_interval(Xte, ALPHA)
    cv = BlockBootstrap(n_resamplings=B, length=L, overlapping=False, random_state=0)
    m = TimeSeriesRegressor(
        LinearRegression(),
        method="enbpi",
        cv=cv,
        agg_function="mean",
        conformity_score=AbsoluteConformityScore(sym=True),
    ).fit(Xtr, ytr)
    lo_m, up_m = mapie_bounds(m, Xte)
    assert abs((up_m - lo_m).mean() / pi.width.mean() - 1) < 0.05
    assert_same_coverage(yte, lo_m, up_m, pi)


def test_enbpi_asymmetric_against_optimize_beta(monkeypatch, lagged):
    Xtr, ytr, Xte, yte = enbpi_split(lagged, 300)
    e, samples = fit_enbpi_pair(monkeypatch, Xtr, ytr, symmetric=False)
    pi = e.predict_interval(Xte, ALPHA)
    m = mapie_enbpi(samples, Xtr, ytr, sym=False)
    np.testing.assert_allclose(m.conformity_scores_, e.residuals_, atol=1e-10)  # signed

    lo_opt, up_opt = mapie_bounds(m, Xte, optimize_beta=True)
    lo_eq, up_eq = mapie_bounds(m, Xte, optimize_beta=False)  # beta = alpha / 2
    # bsdl's plain quantiles are at most as wide as the conformal ones on each side and
    # its beta grid holds alpha / 2, so it is never wider than MAPIE's equal tails
    assert pi.width.mean() <= (up_eq - lo_eq).mean() + 1e-12
    assert abs((up_opt - lo_opt).mean() / pi.width.mean() - 1) < 0.08
    assert_same_coverage(yte, lo_opt, up_opt, pi)


# ------------------------------------------------------------------------------- ACI


def aci_pair(z, gamma, n_train=300, n_cal=200, stop_below=None):
    """bsdl's ACI and MAPIE's, on the same prefit model and calibration set.

    MAPIE's loop: interval of row t with alpha_t, adapt alpha_t on (x_t, y_t), slide
    the scores. It stops before the first step whose bsdl alpha_t is below
    ``stop_below`` (where MAPIE's conformal quantile does not exist).
    """
    X, y = lag_matrix(z, LAGS)
    cut = n_train + n_cal
    est = LinearRegression().fit(X[:n_train], y[:n_train])
    Xc, yc, Xt, yt = X[n_train:cut], y[n_train:cut], X[cut:], y[cut:]
    aci = ACI(est, prefit=True, gamma=gamma, window=n_cal).calibrate(Xc, yc)
    pi = aci.predict_online(Xt, yt, ALPHA)

    score = AbsoluteConformityScore(sym=True)
    m = TimeSeriesRegressor(est, method="aci", cv="prefit", conformity_score=score)
    m.fit(Xc, yc)
    n = yt.size
    if stop_below is not None:
        below = np.flatnonzero(pi.alphas < stop_below)
        n = int(below[0]) if below.size else n
    lower, upper, alphas = np.empty(n), np.empty(n), np.empty(n + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # update() warns about its changed API at each call
        for t in range(n):
            x_t, y_t = Xt[t : t + 1], yt[t : t + 1]
            alphas[t] = m.current_alpha[ALPHA] if t else ALPHA
            _, pis = m.predict(x_t, confidence_level=1 - ALPHA, allow_infinite_bounds=True)
            lower[t], upper[t] = pis[0, 0, 0], pis[0, 1, 0]
            m.adapt_conformal_inference(x_t, y_t, gamma=gamma, confidence_level=1 - ALPHA)
            m.update(x_t, y_t)
    alphas[n] = m.current_alpha[ALPHA]
    return pi, yt, (lower, upper, alphas)


def test_aci_matches_mapie_exactly():
    n_cal = 200
    pi, yt, (lo_m, up_m, alphas_m) = aci_pair(ar_series(900, 1), gamma=0.01, n_cal=n_cal)
    assert pi.alphas.min() >= 1 / (n_cal + 1)  # the conformal quantile exists throughout
    np.testing.assert_allclose(alphas_m[:-1], pi.alphas, rtol=0, atol=1e-12)
    np.testing.assert_allclose(lo_m, pi.lower, rtol=0, atol=1e-10)
    np.testing.assert_allclose(up_m, pi.upper, rtol=0, atol=1e-10)
    assert covered(yt, lo_m, up_m).mean() == pi.coverage(yt)
    assert (up_m - lo_m).mean() == pytest.approx(pi.width.mean(), rel=1e-12)


def test_aci_below_zero_is_a_design_difference():
    """A large step drives alpha_t under 1/(n+1): same path up to there, then each
    library's rule (bsdl: unclipped alpha_t, largest score; MAPIE: clip at 0)."""
    n_cal = 200
    gamma = 0.05
    pi, yt, (lo_m, up_m, alphas_m) = aci_pair(
        ar_series(900, 1), gamma=gamma, n_cal=n_cal, stop_below=1 / (n_cal + 1)
    )
    t_star = lo_m.size
    assert 0 < t_star < yt.size  # the event happens on this series
    np.testing.assert_allclose(alphas_m[:-1], pi.alphas[:t_star], rtol=0, atol=1e-12)
    np.testing.assert_allclose(lo_m, pi.lower[:t_star], rtol=0, atol=1e-10)
    np.testing.assert_allclose(up_m, pi.upper[:t_star], rtol=0, atol=1e-10)
    # at t*, MAPIE's alpha_t is bsdl's clipped to [0, 1]
    assert alphas_m[-1] == pytest.approx(min(max(pi.alphas[t_star], 0.0), 1.0), abs=1e-12)
    assert pi.alphas[t_star] < 0  # bsdl keeps the unclipped value...
    # ...and uses the largest score of the window in force (calibration scores first)
    X, y = lag_matrix(ar_series(900, 1), LAGS)
    pred = LinearRegression().fit(X[:300], y[:300]).predict(X[300:500])
    hist = np.concatenate([np.abs(y[300:500] - pred), np.abs(yt - pi.mean)])
    q_max = hist[t_star : t_star + n_cal].max()
    assert pi.upper[t_star] - pi.mean[t_star] == pytest.approx(q_max, rel=1e-12)
    assert pi.mean[t_star] - pi.lower[t_star] == pytest.approx(q_max, rel=1e-12)
