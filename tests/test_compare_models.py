"""compare_intervals' forecaster choice (model=), its hybrid and GARCH rows, and bsdl.garch."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bsdl import SparseRNN, SparseTransformer
from bsdl.baselines import baseline_bic_lags
from bsdl.compare import METHODS, compare_intervals, default_methods
from bsdl.datasets import make_ar
from bsdl.garch import garch_forecasts

pytest.importorskip("arch")  # a test extra

QUICK = dict(lags=3, window=4, n_epochs=20)


def garch_series(n=1200, seed=0):
    """AR(1) returns with GARCH(1, 1) t(6) innovations (omega .05, a .1, b .85)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(6, size=n) / np.sqrt(6 / 4)
    y, s2, e_prev = np.zeros(n), 1.0, 0.0
    for t in range(n):
        s2 = 0.05 + 0.1 * e_prev**2 + 0.85 * s2
        e_prev = np.sqrt(s2) * z[t]
        y[t] = 0.3 * (y[t - 1] if t else 0.0) + e_prev
    return y


def run(series, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare_intervals(series, **kwargs)


def test_garch_forecasts_follow_the_fitted_recursion_without_look_ahead():
    # independent answer: the AR mean and the GARCH(1, 1) variance recursion written out with
    # the reported parameters; a one-step misalignment (look-ahead) would break both
    y = garch_series()
    fc = garch_forecasts(y, [1], 1000)
    p = fc.params
    np.testing.assert_allclose(fc.mean, p["Const"] + p["y[1]"] * y[999:-1], rtol=1e-10)
    eps = y[1000:] - fc.mean
    s2 = p["omega"] + p["alpha[1]"] * eps[:-1] ** 2 + p["beta[1]"] * fc.sd[:-1] ** 2
    np.testing.assert_allclose(fc.sd[1:], np.sqrt(s2), rtol=1e-8)
    # the simulated process: AR(1) 0.3, persistence 0.95, t(6); 1000 points pin them loosely
    assert abs(p["y[1]"] - 0.3) < 0.1 and 0.85 < fc.persistence < 1.0 and 3 < fc.nu < 15
    # standardised-t quantile: t_nu^-1(0.95) sqrt((nu - 2) / nu) times the conditional sd
    q = stats.t.ppf(0.95, fc.nu) * np.sqrt((fc.nu - 2) / fc.nu)
    np.testing.assert_allclose(fc.intervals(0.1).upper, fc.mean + q * fc.sd, rtol=1e-10)
    normal = garch_forecasts(y, [], 1000, dist="normal")
    assert normal.nu is None and "nu" not in normal.params
    assert normal.intervals(0.1).z == pytest.approx(stats.norm.ppf(0.95))


def test_garch_with_many_lags_is_not_worse_than_its_two_step_start():
    # Half-hourly GB demand (bundled), AR lags 1..49 around a level of about 30000: arch's
    # optimiser from its own start stopped far from the maximum there (one-step RMSE 2635
    # against least squares' 296 before the two-step start). Independent answers:
    # statsmodels' AutoReg at the same lags (least squares) for the mean, and the
    # likelihood of the two-step estimates as a floor for the joint fit's.
    from arch import arch_model
    from statsmodels.tsa.ar_model import AutoReg

    from bsdl.datasets import load_series

    y = load_series("gb_demand").to_numpy()[-2000:]
    lags, n_fit = list(range(1, 50)), 1500
    fc = garch_forecasts(y, lags, n_fit)
    ar = AutoReg(y[:n_fit], lags=lags, trend="c").fit()
    ar_mean = ar.params[0] + sum(ar.params[j] * y[n_fit - j : -j] for j in lags)
    rmse = np.sqrt(np.mean((fc.mean - y[n_fit:]) ** 2))
    rmse_ar = np.sqrt(np.mean((ar_mean - y[n_fit:]) ** 2))
    assert rmse < 1.1 * rmse_ar
    # the reported Const maps the centred, scaled fit back: the mean recursion by hand
    p = fc.params
    phi = p[[f"y[{j}]" for j in lags]]
    by_hand = p["Const"] + sum(p[f"y[{j}]"] * y[n_fit - j : -j] for j in lags)
    np.testing.assert_allclose(fc.mean, by_hand, rtol=1e-9)
    # its likelihood is at least the two-step estimates' (on the same centred scale)
    from bsdl.garch import _two_step_start

    loc, scale = y[:n_fit].mean(), y[:n_fit].std()
    z = pd.Series((y - loc) / scale)
    model = arch_model(z, mean="AR", lags=lags, vol="GARCH", p=1, q=1, dist="t", rescale=False)
    start = _two_step_start(z.to_numpy(), lags, n_fit, "t", arch_model)
    chosen = np.r_[
        (p["Const"] - loc * (1 - phi.sum())) / scale,
        phi.to_numpy(),
        p["omega"] / scale**2,
        p[["alpha[1]", "beta[1]", "nu"]].to_numpy(),
    ]
    floor = model.fix(start, last_obs=n_fit).loglikelihood
    assert model.fix(chosen, last_obs=n_fit).loglikelihood >= floor - 1e-6


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(lags=[1], n_fit=50), ValueError, "n_fit must leave"),
        (dict(lags=[1], n_fit=1200), ValueError, "n_fit must leave"),
        (dict(lags=[0], n_fit=1000), ValueError, "lags"),
        (dict(lags=3, n_fit=1000), TypeError, "lags"),
        (dict(lags=[1], n_fit=1000, dist="cauchy"), ValueError, "dist"),
        (dict(lags=[1], n_fit=1000.0), TypeError, "n_fit"),
    ],
)
def test_garch_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        garch_forecasts(garch_series(), **kwargs)


def test_garch_refuses_bad_series_and_keeps_the_input():
    y = garch_series()
    copy = y.copy()
    garch_forecasts(y, [1], 1000)
    np.testing.assert_array_equal(y, copy)
    with pytest.raises(ValueError, match="NaN or inf"):
        garch_forecasts(np.r_[np.nan, y[1:]], [1], 1000)
    with pytest.raises(ValueError, match="constant"):
        garch_forecasts(np.r_[np.ones(1000), y[:200]], [], 1000)


def test_garch_and_hybrid_rows_of_the_comparison():
    y = garch_series(600, seed=1)
    frame, ivs = run(
        {"g": y},
        methods=["bsdl", "hybrid", "garch"],
        alpha=[0.1, 0.05],
        model_params=QUICK,
        return_intervals=True,
    )
    assert list(frame.method[frame.alpha == 0.1]) == ["bsdl", "hybrid", "garch"]
    seed = frame.seed[0]
    # garch: the intervals of garch_forecasts at the BIC lags on train + calibration (480)
    lags = baseline_bic_lags(y[:480], 3).bic_lags
    fc = garch_forecasts(y, lags, 480).intervals(0.05)
    got = ivs[("g", seed, 0.05, "garch")]
    np.testing.assert_allclose(got["lower"], fc.lower, rtol=1e-8)
    np.testing.assert_allclose(got["upper"], fc.upper, rtol=1e-8)
    assert "t innovations, nu" in frame.note[frame.method == "garch"].iloc[0]
    # hybrid: bsdl's centre and, at its first step (level alpha), bsdl's interval
    b, h = ivs[("g", seed, 0.1, "bsdl")], ivs[("g", seed, 0.1, "hybrid")]
    np.testing.assert_allclose(h["mean"], b["mean"])
    np.testing.assert_allclose(h.iloc[0][["lower", "upper"]], b.iloc[0][["lower", "upper"]])
    assert not np.allclose(h["upper"], b["upper"])  # the level moved along the test span


def test_garch_skipped_on_a_short_fitting_span():
    frame = run({"s": make_ar(120, {1: 0.5}, random_state=0)}, methods=["garch"], alpha=0.1)
    assert frame.coverage.isna().all() and "GARCH needs at least" in frame.note[0]


def test_without_arch_garch_is_left_out_or_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "arch", None)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    assert "garch" not in default_methods() and len(default_methods()) == len(METHODS) - 1
    with pytest.raises(ImportError, match="optional package 'arch'"):
        compare_intervals({"s": np.arange(300.0)}, methods=["garch"])


def test_model_names_classes_and_instances_give_the_same_table():
    y = make_ar(200, {1: 0.6}, random_state=4)
    kw = dict(methods=["bsdl", "split"], alpha=0.1, random_state=2)
    small = dict(d_model=4, n_heads=1, dim_feedforward=4, n_epochs=15) | QUICK
    by_name = run({"s": y}, model="transformer", model_params=small, **kw)
    by_class = run({"s": y}, model=SparseTransformer, model_params=small, **kw)
    by_instance = run({"s": y}, model=SparseTransformer(**small, random_state=99), **kw)
    cols = ["method", "coverage", "width", "interval_score"]
    pd.testing.assert_frame_equal(by_name[cols], by_class[cols])
    pd.testing.assert_frame_equal(by_name[cols], by_instance[cols])
    rnn = run({"s": y}, model_params=QUICK, **kw)
    old_name = run({"s": y}, model=SparseRNN, rnn_params=QUICK, **kw)
    pd.testing.assert_frame_equal(rnn[cols], old_name[cols])
    # on an AR(1) both may reduce to the same linear skip path; without it they differ
    no_skip = run({"s": y}, model="transformer", model_params=small | {"skip": False}, **kw)
    rnn_no_skip = run({"s": y}, model_params=QUICK | {"skip": False}, **kw)
    assert not np.allclose(rnn_no_skip.width, no_skip.width)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(model="lstm"), ValueError, "model must be one of"),
        (dict(model=42), TypeError, "model must be one of"),
        (dict(model=dict), TypeError, "model dict must have fit"),
        (dict(model_params=QUICK, rnn_params=QUICK), ValueError, "not both"),
        (dict(model_params={"random_state": 1}), ValueError, "model_params must not hold"),
        (dict(model_params=[("lags", 3)]), TypeError, "model_params must be a dict"),
        (dict(model_params={"bogus": 1}), TypeError, "bogus"),
        (dict(methods=["hybrid", "nope"]), ValueError, "methods must be a non-empty subset"),
    ],
)
def test_bad_model_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        compare_intervals({"s": np.arange(300.0)}, **kwargs)
