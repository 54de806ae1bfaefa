"""Bad input: every error is a ValueError/TypeError (or NotFittedError) raised at ``fit`` /
``predict`` time whose message names the offending argument; user data are never modified.

Hyperparameter errors must come from ``fit`` (the scikit-learn contract: ``__init__`` only
stores its arguments), and before any training happens, so these tests are fast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsdl import MixtureGaussianPrior, NotFittedError, SparseMLPClassifier, SparseMLPRegressor
from bsdl.inference import PriorAnnealing

RNG = np.random.default_rng(0)
X_OK = RNG.standard_normal((40, 3))
Y_OK = X_OK[:, 0] + 0.1 * RNG.standard_normal(40)
LABELS_OK = (X_OK[:, 0] > 0).astype(int)

TINY = dict(hidden_layer_sizes=(3,), n_epochs=2, random_state=0)


def _with(X=None, i=0, j=1, value=np.nan):
    X = (X_OK if X is None else X).copy()
    X[i, j] = value
    return X


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize(
    "Est, y_ok", [(SparseMLPRegressor, Y_OK), (SparseMLPClassifier, LABELS_OK)]
)
@pytest.mark.parametrize(
    "X, match",
    [
        (_with(value=np.nan), "X contains 1 non-finite"),
        (_with(value=np.inf), "X contains 1 non-finite"),
        (_with(value=-np.inf, i=5, j=2), r"X .*row 5, column 2"),
        (X_OK[:, 0], "X must be 2-D"),
        (X_OK[None], "X must be 2-D"),
        (X_OK[:0], "X has 0 sample"),
        (X_OK[:, :0], "X has 0 features"),
        (X_OK[:1], "at least 2"),
        (X_OK.astype(str), "X contains strings"),
        (None, "X must be array-like"),
    ],
)
def test_bad_X_at_fit(Est, y_ok, X, match):
    y = y_ok if X is None or X.ndim < 1 or len(X) == len(y_ok) else y_ok[: len(X)]
    with pytest.raises((ValueError, TypeError), match=match):
        Est(**TINY).fit(X, y)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.where(np.arange(40) == 3, np.nan, Y_OK), "y contains 1 non-finite"),
        (np.where(np.arange(40) == 3, np.inf, Y_OK), "y contains 1 non-finite"),
        (np.c_[Y_OK, Y_OK], "y must be 1-D"),
        (Y_OK[:-1], "inconsistent numbers of samples"),
        (np.array(["a"] * 40), "y contains strings"),
    ],
)
def test_bad_y_regressor(y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SparseMLPRegressor(**TINY).fit(X_OK, y)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.where(np.arange(40) == 3, np.nan, LABELS_OK), "y contains 1 missing"),
        (np.array([None] * 20 + ["a"] * 20, dtype=object), "y contains 20 missing"),
        (np.c_[LABELS_OK, LABELS_OK], "y must be 1-D"),
        (LABELS_OK[:-1], "inconsistent numbers of samples"),
        (np.zeros(40), "2 classes"),
    ],
)
def test_bad_y_classifier(y, match):
    with pytest.raises(ValueError, match=match):
        SparseMLPClassifier(**TINY).fit(X_OK, y)


def test_non_numeric_dataframe_column():
    df = pd.DataFrame(X_OK, columns=["a", "b", "c"]).assign(city="x")
    with pytest.raises(TypeError, match="column 'city'"):
        SparseMLPRegressor(**TINY).fit(df, Y_OK)
    df = pd.DataFrame(X_OK, columns=["a", "b", "c"])
    df.loc[7, "b"] = np.nan
    with pytest.raises(ValueError, match="row 7, column 'b'"):
        SparseMLPRegressor(**TINY).fit(df, Y_OK)
    with pytest.raises(TypeError, match="X contains (strings|non-numeric)"):
        SparseMLPRegressor(**TINY).fit(
            X_OK.astype(object).tolist() + [[1, "a", 2]], np.r_[Y_OK, 0.0]
        )


def test_ragged_list():
    with pytest.raises(ValueError, match="X"):
        SparseMLPRegressor(**TINY).fit([[1.0, 2.0], [3.0]], [1.0, 2.0])


# ----------------------------------------------------------------------------- hyperparameters
def test_prior_arguments():
    with pytest.raises(ValueError, match="sigma0"):
        MixtureGaussianPrior(lambda_=0.1, sigma0=1.0, sigma1=1.0)
    with pytest.raises(ValueError, match="sigma0"):
        MixtureGaussianPrior(lambda_=0.1, sigma0=2.0, sigma1=1.0)
    with pytest.raises(ValueError, match="sigma0"):
        MixtureGaussianPrior(lambda_=0.1, sigma0=-0.1, sigma1=1.0)
    for lam in (0.0, 1.0, -0.5, 1.5, float("nan")):
        with pytest.raises(ValueError, match="lambda_"):
            MixtureGaussianPrior(lambda_=lam, sigma0=0.01, sigma1=1.0)
    with pytest.raises(TypeError, match="lambda_"):
        MixtureGaussianPrior(lambda_="0.1", sigma0=0.01, sigma1=1.0)


BAD_PARAMS = [
    (dict(hidden_layer_sizes=()), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(4, -1)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes="a"), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(2.5,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=(True,)), "hidden_layer_sizes"),
    (dict(hidden_layer_sizes=None), "hidden_layer_sizes"),
    (dict(activation="swish"), "activation"),
    (dict(lr=0.0), "lr"),
    (dict(lr=-1e-3), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(lr="0.01"), "lr"),
    (dict(n_epochs=0), "n_epochs"),
    (dict(n_epochs=2.5), "n_epochs"),
    (dict(n_epochs="many"), "n_epochs"),
    (dict(refit_epochs=-1), "refit_epochs"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size="big"), "batch_size"),
    (dict(optimizer="foo"), "optimizer"),
    (dict(optimizer=None), "optimizer"),
    (dict(restart_criterion="foo"), "restart_criterion"),
    (dict(restart_criterion="aic"), "restart_criterion"),
    (dict(n_restarts=0), "n_restarts"),
    (dict(device="nonsense"), "device"),
    (dict(prior="spike"), "prior"),
    (dict(prior=MixtureGaussianPrior), "prior"),
    (dict(annealing="fast"), "annealing"),
    (dict(annealing=PriorAnnealing(warmup=2, ramp=2, anneal=2)), "n_epochs"),
    (
        dict(
            prior=MixtureGaussianPrior(lambda_=0.1, sigma0=0.01, sigma1=0.5),
            annealing=PriorAnnealing(sigma0_init=0.5),
        ),
        "sigma0_init",
    ),
    (dict(random_state="seed"), "random_state"),
    (dict(random_state=-1), "random_state"),
]


@pytest.mark.parametrize("Est, y", [(SparseMLPRegressor, Y_OK), (SparseMLPClassifier, LABELS_OK)])
@pytest.mark.parametrize(
    "params, match", BAD_PARAMS, ids=[f"{m}{i}" for i, (_, m) in enumerate(BAD_PARAMS)]
)
def test_invalid_hyperparameters_raise_at_fit(Est, y, params, match):
    kwargs = {**TINY, **params}
    if match == "n_epochs" and "annealing" in params:
        kwargs["n_epochs"] = 5  # 2 + 2 + 2 = 6 epochs of phases do not fit in 5
    est = Est(**kwargs)  # __init__ only stores: no error here
    for key, value in params.items():
        assert getattr(est, key) is value
    with pytest.raises((ValueError, TypeError), match=match):
        est.fit(X_OK, y)
    assert not hasattr(est, "module_")


def test_wide_spike_prior_trains_without_a_hidden_sigma0_error():
    # sigma0 > sigma1 / sqrt(50): the default annealing start sqrt(50) * sigma0 would reach
    # the slab. It used to crash mid-training with "sigma0 must be smaller than sigma1" for
    # a spike width the user never set; the start is now kept strictly below sigma1.
    prior = MixtureGaussianPrior(lambda_=0.1, sigma0=0.3, sigma1=1.0)
    est = SparseMLPRegressor(**{**TINY, "n_epochs": 20}, prior=prior).fit(X_OK, Y_OK)
    sigma0 = est.history_["sigma0"].dropna()
    assert sigma0.max() < prior.sigma1
    assert sigma0.max() == pytest.approx((0.3 * 1.0) ** 0.5)  # geometric midpoint start
    assert sigma0.iloc[-1] == pytest.approx(0.3)


def test_invalid_n_jobs_raises_at_fit():
    est = SparseMLPRegressor(**TINY, n_restarts=2, n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs"):
        est.fit(X_OK, Y_OK)


# ----------------------------------------------------------------------------- predict time
@pytest.fixture(scope="module")
def tiny_fits():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = SparseMLPRegressor(**TINY).fit(X_OK, Y_OK)
        clf = SparseMLPClassifier(**TINY).fit(X_OK, LABELS_OK)
    return reg, clf


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, 95, float("nan")])
def test_alpha_outside_unit_interval(tiny_fits, alpha):
    for est in tiny_fits:
        with pytest.raises(ValueError, match="alpha"):
            est.predict_interval(X_OK, alpha=alpha)


def test_alpha_wrong_type_and_kind(tiny_fits):
    reg, clf = tiny_fits
    for est in tiny_fits:
        with pytest.raises(TypeError, match="alpha"):
            est.predict_interval(X_OK, alpha="0.05")
        with pytest.raises(TypeError, match="alpha"):
            est.predict_interval(X_OK, alpha=None)
    with pytest.raises(ValueError, match="kind"):
        reg.predict_interval(X_OK, kind="credible")
    pi = reg.predict_interval(X_OK)
    with pytest.raises(ValueError, match="alpha"):
        pi.conf_int(alpha=1.0)
    with pytest.raises(ValueError, match="alpha"):
        pi.with_alpha(0.0)


def test_wrong_feature_count_at_predict(tiny_fits):
    reg, clf = tiny_fits
    X4 = np.c_[X_OK, X_OK[:, 0]]
    for est, methods in (
        (reg, ("predict", "predict_interval")),
        (clf, ("predict", "predict_proba", "predict_interval")),
    ):
        for method in methods:
            with pytest.raises(ValueError, match="X has 4 features.*3 features"):
                getattr(est, method)(X4)
            with pytest.raises(ValueError, match="X must be 2-D"):
                getattr(est, method)(X_OK[0])


def test_bad_X_at_predict(tiny_fits):
    reg, clf = tiny_fits
    for est in tiny_fits:
        with pytest.raises(ValueError, match="X contains 1 non-finite"):
            est.predict(_with(value=np.nan))
        with pytest.raises(ValueError, match="X contains 1 non-finite"):
            est.predict_interval(_with(value=np.inf))
        with pytest.raises(ValueError, match="X has 0 sample"):
            est.predict(X_OK[:0])


@pytest.mark.parametrize("Est", [SparseMLPRegressor, SparseMLPClassifier])
def test_predict_before_fit(Est):
    est = Est()
    methods = ["predict", "predict_interval"] + (
        ["predict_proba"] if Est is SparseMLPClassifier else []
    )
    for method in methods:
        with pytest.raises(NotFittedError, match=f"before using '{method}'"):
            getattr(est, method)(X_OK)


# ----------------------------------------------------------------------------- no mutation
def test_arrays_never_modified():
    X = np.asfortranarray(RNG.standard_normal((60, 3)) * 10 + 5)  # far from standardised
    y = X[:, 0] * 2.0 + 1.0
    labels = (X[:, 1] > 5).astype(np.int32)
    X0, y0, labels0 = X.copy(), y.copy(), labels.copy()
    reg = SparseMLPRegressor(**TINY).fit(X, y)
    clf = SparseMLPClassifier(**TINY).fit(X, labels)
    reg.predict(X)
    reg.predict_interval(X)
    clf.predict(X)
    clf.predict_proba(X)
    clf.predict_interval(X)
    for a, a0 in ((X, X0), (y, y0), (labels, labels0)):
        np.testing.assert_array_equal(a, a0)
        assert a.dtype == a0.dtype and a.flags.writeable
    assert X.flags.f_contiguous
    # fitted attributes do not alias the user's array
    assert not np.shares_memory(reg.x_mean_, X)


def test_read_only_and_non_contiguous_inputs_accepted():
    X = RNG.standard_normal((50, 6))[:, ::2]  # a strided view
    y = X[:, 0].copy()
    X.flags.writeable = False
    y.flags.writeable = False
    reg = SparseMLPRegressor(**TINY).fit(X, y)
    assert reg.predict(X).shape == (50,)


def test_dataframe_never_modified():
    df = pd.DataFrame(
        X_OK * 3 + 1, columns=["a", "b", "c"], index=pd.RangeIndex(100, 140, name="id")
    )
    df["d"] = np.arange(40, dtype=np.int64)  # an integer column
    s = pd.Series(Y_OK, index=df.index, name="target")
    df0, s0 = df.copy(deep=True), s.copy(deep=True)
    reg = SparseMLPRegressor(**TINY).fit(df, s)
    reg.predict(df)
    reg.predict_interval(df)
    pd.testing.assert_frame_equal(df, df0)
    pd.testing.assert_series_equal(s, s0)
    labels = pd.Series(np.where(Y_OK > 0, "up", "down"), index=df.index)
    labels0 = labels.copy(deep=True)
    clf = SparseMLPClassifier(**TINY).fit(df, labels)
    clf.predict_interval(df)
    pd.testing.assert_frame_equal(df, df0)
    pd.testing.assert_series_equal(labels, labels0)
