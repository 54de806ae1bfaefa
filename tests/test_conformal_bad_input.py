"""Bad input to bsdl.conformal: every error is a ValueError / TypeError / NotFittedError
whose message names the offending argument (or the missing step); user data are never
needed past the check, so these tests are fast (fake estimators, tiny arrays)."""

from __future__ import annotations

import numpy as np
import pytest
from _conformal_fakes import StandardErrors, Zero
from sklearn.linear_model import LinearRegression

from bsdl.conformal import (
    ACI,
    SPCI,
    AgACI,
    ConformalIntervals,
    ConformalizedAsymptotic,
    EnbPI,
    ScaledScore,
    SplitConformal,
    conformal_quantile,
    lag_matrix,
    min_calibration_size,
)
from bsdl.exceptions import NotFittedError

RNG = np.random.default_rng(0)
X_OK = RNG.normal(size=(60, 2))
Y_OK = X_OK @ [1.0, -1.0] + RNG.normal(size=60)


class SEModel(Zero):
    def __init__(self, se=1.0):
        self.se = se

    def predict_interval(self, X):
        return StandardErrors(np.full(len(X), self.se))


def _with_nan(a, idx):
    a = np.array(a, dtype=float)
    a[idx] = np.nan
    return a


def calibrated(kind):
    """A fitted and calibrated object of each kind (EnbPI: fitted)."""
    lr = LinearRegression()
    X, y = X_OK, Y_OK
    if kind == "enbpi":
        return EnbPI(lr, n_bootstraps=3, random_state=0).fit(X, y)
    if kind == "asymptotic":
        return ConformalizedAsymptotic(SEModel()).calibrate(X[30:], y[30:])
    obj = {
        "split": SplitConformal(lr),
        "aci": ACI(lr),
        "agaci": AgACI(lr, gammas=(0.01, 0.05)),
        "spci": SPCI(lr, n_lags=2, window=20),
    }[kind]
    return obj.fit(X[:30], y[:30]).calibrate(X[30:], y[30:])


KINDS = ["split", "aci", "agaci", "enbpi", "spci", "asymptotic"]


# ---------------------------------------------------------------------------- alpha


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, 95, float("nan")])
def test_alpha_outside_unit_interval(kind, alpha):
    obj = calibrated(kind)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        obj.predict_interval(X_OK[:5], alpha=alpha)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        obj.predict_online(X_OK[:5], Y_OK[:5], alpha=alpha)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alpha", ["0.1", None, True, [0.1]])
def test_alpha_not_a_number(kind, alpha):
    obj = calibrated(kind)
    with pytest.raises(TypeError, match="alpha must be a float"):
        obj.predict_interval(X_OK[:5], alpha=alpha)
    with pytest.raises(TypeError, match="alpha must be a float"):
        obj.predict_online(X_OK[:5], Y_OK[:5], alpha=alpha)


def test_alpha_checked_by_the_helpers():
    with pytest.raises(ValueError, match="alpha must be in"):
        conformal_quantile(np.arange(20.0), 1.2)
    with pytest.raises(ValueError, match="alpha must be in"):
        min_calibration_size(0)
    with pytest.raises(ValueError, match="alpha must be in"):
        calibrated("asymptotic").z_ratio(0.0)


# ---------------------------------------------------------------------- gamma / gammas


@pytest.mark.parametrize("gamma", [0.0, 1.0, -0.01, 2.0, float("nan")])
def test_aci_gamma_outside_unit_interval(gamma):
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\)"):
        ACI(LinearRegression(), gamma=gamma).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\)"):
        ACI(Zero(), gamma=gamma, prefit=True).calibrate(X_OK, Y_OK)


@pytest.mark.parametrize("gamma", ["0.01", None, True])
def test_aci_gamma_not_a_number(gamma):
    with pytest.raises(TypeError, match="gamma must be a float"):
        ACI(LinearRegression(), gamma=gamma).fit(X_OK, Y_OK)


@pytest.mark.parametrize("gammas", [[], (), np.array([])])
def test_agaci_empty_gammas(gammas):
    with pytest.raises(ValueError, match="gammas must hold at least one"):
        AgACI(LinearRegression(), gammas=gammas).fit(X_OK, Y_OK)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 3.0, float("nan")])
def test_agaci_gammas_with_a_value_outside_unit_interval(bad):
    with pytest.raises(ValueError, match=r"gammas must be in \(0, 1\)"):
        AgACI(LinearRegression(), gammas=[0.01, bad]).fit(X_OK, Y_OK)


def test_agaci_gammas_with_a_non_number():
    with pytest.raises(TypeError, match="gammas must be a float"):
        AgACI(LinearRegression(), gammas=[0.01, "0.1"]).fit(X_OK, Y_OK)
    with pytest.raises(TypeError, match="gammas must be a float"):
        AgACI(Zero(), gammas=[None], prefit=True).calibrate(X_OK, Y_OK)


# --------------------------------------------------------------- calibration set size


@pytest.mark.parametrize("cls", [SplitConformal, ACI, AgACI])
def test_calibration_set_too_small_names_the_minimum(cls):
    obj = cls(Zero(), prefit=True).calibrate(X_OK[:8], Y_OK[:8])  # min is 9 at 0.1
    with pytest.raises(ValueError, match="calibration set has 8 points.*at least 9"):
        obj.predict_interval(X_OK, alpha=0.1)
    with pytest.raises(ValueError, match="calibration set has 8 points.*at least 9"):
        obj.predict_online(X_OK, Y_OK, alpha=0.1)
    with pytest.raises(ValueError, match="at least 19"):
        cls(Zero(), prefit=True).calibrate(X_OK[:18], Y_OK[:18]).predict_interval(X_OK, 0.05)


def test_conformalized_asymptotic_calibration_too_small():
    ca = ConformalizedAsymptotic(SEModel()).calibrate(X_OK[:3], Y_OK[:3])
    with pytest.raises(ValueError, match="at least 9"):
        ca.z_ratio(0.1)
    with pytest.raises(ValueError, match="at least 9"):
        ca.predict_interval(X_OK, 0.1)


def test_conformal_quantile_too_few_scores():
    with pytest.raises(ValueError, match="at least 19"):
        conformal_quantile(np.arange(18.0), 0.05)
    with pytest.raises(ValueError, match="my scores has 0 points"):
        conformal_quantile([], 0.5, argname="my scores")


# ------------------------------------------------------------------------ not fitted


@pytest.mark.parametrize(
    "make",
    [
        lambda: SplitConformal(LinearRegression()),
        lambda: ACI(LinearRegression()),
        lambda: AgACI(LinearRegression()),
        lambda: SPCI(LinearRegression(), n_lags=2, window=20),
        lambda: ConformalizedAsymptotic(SEModel(), prefit=False),
    ],
)
def test_not_fitted(make):
    obj = make()
    with pytest.raises(NotFittedError, match=r"fit\(X, y\) before calibrate"):
        obj.calibrate(X_OK, Y_OK)
    with pytest.raises(NotFittedError, match="calibrate"):
        obj.predict_interval(X_OK, 0.1)
    with pytest.raises(NotFittedError, match="calibrate"):
        obj.predict_online(X_OK, Y_OK, 0.1)
    obj.fit(X_OK[:30], Y_OK[:30])  # fitted but not calibrated: still not ready
    with pytest.raises(NotFittedError, match=r"calibrate\(X_cal, y_cal\) before predict_interval"):
        obj.predict_interval(X_OK, 0.1)
    with pytest.raises(NotFittedError, match=r"calibrate\(X_cal, y_cal\) before predict_online"):
        obj.predict_online(X_OK, Y_OK, 0.1)


def test_not_calibrated_prefit_and_z_ratio():
    with pytest.raises(NotFittedError, match="calibrate"):
        SplitConformal(Zero(), prefit=True).predict_interval(X_OK, 0.1)
    with pytest.raises(NotFittedError, match=r"before z_ratio"):
        ConformalizedAsymptotic(SEModel()).z_ratio(0.1)


def test_enbpi_not_fitted():
    e = EnbPI(LinearRegression())
    for call in (
        lambda: e.predict(X_OK),
        lambda: e.predict_interval(X_OK, 0.1),
        lambda: e.predict_online(X_OK, Y_OK, 0.1),
    ):
        with pytest.raises(NotFittedError, match=r"fit\(X, y\)"):
            call()


def test_prefit_estimator_that_is_not_fitted():
    # sklearn's own NotFittedError is bsdl.exceptions.NotFittedError
    with pytest.raises(NotFittedError):
        SplitConformal(LinearRegression(), prefit=True).calibrate(X_OK, Y_OK)


@pytest.mark.parametrize(
    "obj",
    [
        SplitConformal(Zero(), prefit=True),
        ACI(Zero(), prefit=True),
        SPCI(Zero(), prefit=True),
        ConformalizedAsymptotic(SEModel()),
    ],
    ids=["split", "aci", "spci", "asymptotic"],
)
def test_fit_with_prefit_true(obj):
    with pytest.raises(ValueError, match="prefit=True"):
        obj.fit(X_OK, Y_OK)


# -------------------------------------------------------------------- data problems


@pytest.mark.parametrize("kind", ["split", "aci", "agaci", "spci"])
def test_y_length_differs_from_X(kind):
    obj = calibrated(kind)
    fresh = type(obj)(LinearRegression())
    with pytest.raises(ValueError, match="y has 29 values but X has 30 rows"):
        fresh.fit(X_OK[:30], Y_OK[:29])
    with pytest.raises(ValueError, match="y has 29 values but X has 30 rows"):
        obj.calibrate(X_OK[:30], Y_OK[:29])
    with pytest.raises(ValueError, match="y has 9 values but X has 10 rows"):
        obj.predict_online(X_OK[:10], Y_OK[:9], 0.1)


def test_y_length_differs_from_X_enbpi_and_intervals():
    with pytest.raises(ValueError, match="y has 29 values but X has 30 rows"):
        EnbPI(LinearRegression()).fit(X_OK[:30], Y_OK[:29])
    with pytest.raises(ValueError, match="y has 9 values but X has 10 rows"):
        calibrated("enbpi").predict_online(X_OK[:10], Y_OK[:9], 0.1)
    ci = ConformalIntervals(np.zeros(3), -np.ones(3), np.ones(3), 0.1)
    with pytest.raises(ValueError, match="y has 2 values but lower has 3"):
        ci.coverage([0.0, 0.0])


@pytest.mark.parametrize("kind", ["split", "aci", "agaci", "spci", "asymptotic"])
def test_nan_in_X_or_y(kind):
    obj = calibrated(kind)
    Xn = _with_nan(X_OK, (4, 1))
    yn = _with_nan(Y_OK, 7)
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        obj.calibrate(Xn, Y_OK)
    with pytest.raises(ValueError, match="y contains 1 non-finite"):
        obj.calibrate(X_OK, yn)
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        obj.predict_interval(Xn, 0.1)
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        obj.predict_online(Xn, Y_OK, 0.1)
    with pytest.raises(ValueError, match="y contains 1 non-finite"):
        obj.predict_online(X_OK, yn, 0.1)
    if kind != "asymptotic":
        fresh = type(obj)(LinearRegression())
        with pytest.raises(ValueError, match="X contains 1 non-finite"):
            fresh.fit(Xn, Y_OK)
        with pytest.raises(ValueError, match="y contains 1 non-finite"):
            fresh.fit(X_OK, yn)


def test_nan_in_X_or_y_enbpi():
    Xn, yn = _with_nan(X_OK, (4, 1)), _with_nan(Y_OK, 7)
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        EnbPI(LinearRegression()).fit(Xn, Y_OK)
    with pytest.raises(ValueError, match="y contains 1 non-finite"):
        EnbPI(LinearRegression()).fit(X_OK, yn)
    e = calibrated("enbpi")
    with pytest.raises(ValueError, match="X contains 1 non-finite"):
        e.predict_interval(Xn, 0.1)
    with pytest.raises(ValueError, match="y contains 1 non-finite"):
        e.predict_online(X_OK, yn, 0.1)


# ------------------------------------------------------------ estimator and score


class NoPredict:
    def fit(self, X, y):
        return self


class NoFit:
    def predict(self, X):
        return np.zeros(len(X))


@pytest.mark.parametrize("est, missing", [(NoPredict(), "predict"), (NoFit(), "fit"), (42, "fit")])
def test_estimator_without_fit_or_predict(est, missing):
    msg = rf"estimator must have fit\(X, y\) and predict\(X\) methods.*no {missing}\(\)"
    for obj in (SplitConformal(est), ACI(est), AgACI(est), SPCI(est), EnbPI(est)):
        with pytest.raises(TypeError, match=msg):
            obj.fit(X_OK, Y_OK)
    with pytest.raises(TypeError, match=msg):
        SplitConformal(est, prefit=True).calibrate(X_OK, Y_OK)


@pytest.mark.parametrize("score", ["abs", "Absolute", "squared", None, 3])
def test_score_not_known(score):
    for obj in (SplitConformal(LinearRegression(), score=score), ACI(Zero(), score=score)):
        with pytest.raises(ValueError, match="score must be one of"):
            obj.fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match=r"score must be one of \['absolute', 'scaled'\]"):
        SplitConformal(Zero(), score=score, prefit=True).calibrate(X_OK, Y_OK)


def test_scaled_score_needs_predict_interval():
    msg = "scaled score needs a standard error: Zero has no predict_interval"
    with pytest.raises(TypeError, match=msg):
        SplitConformal(Zero(), score="scaled", prefit=True).calibrate(X_OK, Y_OK)
    with pytest.raises(TypeError, match=msg):
        ConformalizedAsymptotic(Zero()).calibrate(X_OK, Y_OK)
    with pytest.raises(TypeError, match="scaled score needs a standard error"):
        SplitConformal(LinearRegression(), score="scaled").fit(X_OK, Y_OK).calibrate(X_OK, Y_OK)


@pytest.mark.parametrize("se", [-1.0, float("nan"), float("inf")])
def test_scaled_score_bad_standard_errors(se):
    with pytest.raises(ValueError, match="scale must hold finite, non-negative"):
        ConformalizedAsymptotic(SEModel(se)).calibrate(X_OK, Y_OK)


def test_scaled_score_bad_arguments():
    with pytest.raises(TypeError, match="scale must be None or a callable"):
        ScaledScore(scale="se")
    with pytest.raises(ValueError, match="eps must be a positive float"):
        ScaledScore(eps=0.0)


class WrongLength(Zero):
    def predict(self, X):
        return np.zeros(len(X) - 1)


class NaNPred(Zero):
    def predict(self, X):
        return np.full(len(X), np.nan)


def test_estimator_returning_bad_predictions():
    with pytest.raises(ValueError, match="returned 59 predictions for 60 rows"):
        SplitConformal(WrongLength(), prefit=True).calibrate(X_OK, Y_OK)
    with pytest.raises(ValueError, match="non-finite predictions"):
        SplitConformal(NaNPred(), prefit=True).calibrate(X_OK, Y_OK)
    with pytest.raises(ValueError, match="non-finite predictions"):
        EnbPI(NaNPred(), n_bootstraps=3, random_state=0).fit(X_OK, Y_OK)


# -------------------------------------------------------------------- other params


@pytest.mark.parametrize("window", [0, -3])
def test_window_not_positive(window):
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        SplitConformal(LinearRegression(), window=window).fit(X_OK, Y_OK)


@pytest.mark.parametrize("b", [0, 1])
def test_enbpi_n_bootstraps_below_two(b):
    with pytest.raises(ValueError, match=f"n_bootstraps must be an integer >= 2, got {b}"):
        EnbPI(LinearRegression(), n_bootstraps=b).fit(X_OK, Y_OK)
    with pytest.raises(TypeError, match="n_bootstraps must be an integer"):
        EnbPI(LinearRegression(), n_bootstraps=2.5).fit(X_OK, Y_OK)


@pytest.mark.parametrize("length", [60, 61, 500])
def test_enbpi_block_length_not_below_n(length):
    with pytest.raises(
        ValueError, match=f"block_length must be < the 60 training rows, got {length}"
    ):
        EnbPI(LinearRegression(), block_length=length).fit(X_OK, Y_OK)


def test_enbpi_other_parameters():
    with pytest.raises(ValueError, match="block_length must be an integer >= 1"):
        EnbPI(LinearRegression(), block_length=0).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="update_every must be an integer >= 1"):
        EnbPI(LinearRegression(), update_every=0).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="X has 3 rows; EnbPI needs at least 4"):
        EnbPI(LinearRegression()).fit(X_OK[:3], Y_OK[:3])


@pytest.mark.parametrize("n_lags, window", [(10, 21), (10, 5), (1, 3)])
def test_spci_window_too_small_for_n_lags(n_lags, window):
    need = 2 * (n_lags + 1)
    msg = rf"window must be >= 2 \* \(n_lags \+ 1\) = {need}, got {window}"
    with pytest.raises(ValueError, match=msg):
        SPCI(LinearRegression(), n_lags=n_lags, window=window).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match=msg):
        SPCI(Zero(), n_lags=n_lags, window=window, prefit=True).calibrate(X_OK, Y_OK)


def test_spci_other_parameters():
    with pytest.raises(ValueError, match="n_lags must be an integer >= 1"):
        SPCI(LinearRegression(), n_lags=0).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="n_betas must be an integer >= 1"):
        SPCI(LinearRegression(), n_betas=0).fit(X_OK, Y_OK)
    with pytest.raises(ValueError, match="refit_every must be an integer >= 1"):
        SPCI(LinearRegression(), refit_every=0).fit(X_OK, Y_OK)


def test_spci_calibration_too_short():
    # n_lags=10 needs 2 * 11 + 1 = 23 calibration residuals
    sp = SPCI(Zero(), prefit=True, n_lags=10)
    with pytest.raises(
        ValueError, match="calibration set has 22 points; SPCI with n_lags=10 needs at least 23"
    ):
        sp.calibrate(X_OK[:22], Y_OK[:22])
    SPCI(Zero(), prefit=True, n_lags=10).calibrate(X_OK[:23], Y_OK[:23])  # boundary works


def test_spci_failed_calibration_leaves_object_not_ready():
    sp = SPCI(Zero(), prefit=True, n_lags=10)
    with pytest.raises(ValueError, match="needs at least 23"):
        sp.calibrate(X_OK[:10], Y_OK[:10])
    with pytest.raises(NotFittedError):
        sp.predict_interval(X_OK[:5], 0.5)


# ------------------------------------------------------------------------ lag_matrix


@pytest.mark.parametrize("lags", [5, 6, 100])
def test_lag_matrix_lags_not_below_series_length(lags):
    with pytest.raises(ValueError, match=f"series has 5 values; more than lags={lags} are needed"):
        lag_matrix(np.arange(5.0), lags)


def test_lag_matrix_bad_lags_and_series():
    with pytest.raises(ValueError, match="lags must be an integer >= 1"):
        lag_matrix(np.arange(5.0), 0)
    with pytest.raises(TypeError, match="lags must be an integer"):
        lag_matrix(np.arange(5.0), 1.5)
    with pytest.raises(ValueError, match="series contains 1 non-finite"):
        lag_matrix([1.0, np.nan, 3.0, 4.0], 1)


@pytest.mark.parametrize("rows", [4, 6])
def test_lag_matrix_exog_misaligned(rows):
    with pytest.raises(ValueError, match=f"exog has {rows} rows but series has 5 values"):
        lag_matrix(np.arange(5.0), 2, exog=np.ones((rows, 2)))
    with pytest.raises(ValueError, match="exog contains 1 non-finite"):
        lag_matrix(np.arange(5.0), 2, exog=_with_nan(np.ones(5), 2))


def test_refit_drops_the_old_calibration():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 2)), rng.normal(size=60)
    sc = SplitConformal(LinearRegression()).fit(X[:30], y[:30]).calibrate(X[30:], y[30:])
    sc.fit(X[:30], y[:30])  # scores of the old model no longer apply
    with pytest.raises(NotFittedError, match="calibrate"):
        sc.predict_interval(X, alpha=0.1)


def test_online_window_too_small_for_alpha():
    X, y = np.zeros((60, 1)), np.random.default_rng(1).normal(size=60)
    sc = SplitConformal(Zero(), prefit=True, window=5).calibrate(X[:30], y[:30])
    with pytest.raises(ValueError, match="window=5 is too small for alpha=0.1.*at least 9"):
        sc.predict_online(X[30:], y[30:], alpha=0.1)
    sc.predict_online(X[30:], y[30:], alpha=0.2)  # 4 scores suffice at alpha = 0.2
