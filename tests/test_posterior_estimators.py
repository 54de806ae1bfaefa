"""Posterior sampling from the estimators: method="sghmc"/"sgld"/"nuts" (issue 16).

Statistical tolerances come from the chains: Monte Carlo standard errors are ArviZ's
(ESS-based), stated at each use.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bsdl
from bsdl import SparseMLPClassifier, SparseMLPRegressor, SparseRNN
from bsdl.datasets import make_ar, make_sparse_classification
from bsdl.exceptions import TrainingDivergedError
from bsdl.results.posterior import PosteriorIntervals

az = pytest.importorskip("arviz")


def _data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = 2.0 * np.tanh(1.5 * X[:, 0]) + 0.5 * rng.normal(size=n)
    return X, y


X, Y = _data()
XQ = np.array([[-1.0, 0.0], [0.0, 0.0], [0.5, 0.0], [1.5, 0.0]])
FAST = dict(n_epochs=150, random_state=0)


@pytest.fixture(scope="module")
def sghmc():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SparseMLPRegressor(
            (1,), method="sghmc", n_chains=2, n_samples=60, thin=4, **FAST
        ).fit(X, Y)


def test_draws_intervals_and_arviz(sghmc):
    post = sghmc.posterior_
    k = sghmc.n_nonzero_
    assert post["theta"].shape == (2, 60, k)
    assert post["sigma"].shape == (2, 60)
    pi = sghmc.predict_interval(XQ, kind="posterior")
    assert isinstance(pi, PosteriorIntervals)
    assert np.all(pi.lower < pi.mean) and np.all(pi.mean < pi.upper)
    # the noise is in: the 95 % predictive width is at least 2 * 1.96 * the smallest sigma
    assert np.all(pi.width > 3.9 * post["sigma"].min())
    # asymptotic intervals stay available (and are the default)
    assert type(sghmc.predict_interval(XQ)).__name__ == "PredictionIntervals"
    idata = sghmc.to_inference_data(XQ)
    summary = az.summary(idata)
    assert len(summary) == k + 1  # the selected weights and sigma
    assert idata.posterior_predictive["y"].shape == (2, 60, 4)
    assert {"loss", "temperature", "lr"} <= set(idata.sample_stats.data_vars)
    freq = sghmc.inclusion_frequencies_
    assert freq.shape == (2,) and np.all((freq >= 0) & (freq <= 1))
    assert freq[0] == 1.0  # the signal input is connected in every draw


def test_save_load_round_trips_the_draws(sghmc, tmp_path):
    path = sghmc.save(tmp_path / "m.safetensors")
    loaded = bsdl.load(path)
    np.testing.assert_array_equal(loaded.posterior_["theta"], sghmc.posterior_["theta"])
    np.testing.assert_array_equal(
        loaded.predict_interval(XQ, kind="posterior").upper,
        sghmc.predict_interval(XQ, kind="posterior").upper,
    )


def test_default_map_has_no_draws_and_posterior_kind_is_refused():
    m = SparseMLPRegressor((1,), **FAST).fit(X, Y)
    assert not hasattr(m, "posterior_")
    with pytest.raises(ValueError, match="method='map'"):
        m.predict_interval(XQ, kind="posterior")
    with pytest.raises(ValueError, match="method='map'"):
        m.to_inference_data()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_chains=0), "n_chains"),
        (dict(n_samples=0), "n_samples"),
        (dict(thin=0), "thin"),
        (dict(method="hmc"), "method"),
    ],
)
def test_bad_sampling_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SparseMLPRegressor((1,), **FAST, **kwargs).fit(X, Y)


def test_negative_temperature_is_refused():
    from bsdl.inference import PriorAnnealing

    with pytest.raises(ValueError, match="temperature"):
        SparseMLPRegressor((1,), annealing=PriorAnnealing(temperature=-1.0), **FAST).fit(X, Y)


def test_nuts_refuses_a_network_too_large():
    rng = np.random.default_rng(1)
    Xw = rng.normal(size=(400, 40))
    yw = Xw @ rng.normal(size=40) + rng.normal(size=400)
    with pytest.raises(ValueError, match=r"at most 300 selected weights, but this network has \d+"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            SparseMLPRegressor(
                (32,),
                skip=False,  # the network alone: the linear truth would leave only the path
                method="nuts",
                prior=bsdl.MixtureGaussianPrior(0.5, 1e-4, 1.0),
                n_epochs=2,
                random_state=0,
            ).fit(Xw, yw)


def test_nan_during_sampling_names_the_chain(monkeypatch):
    monkeypatch.setattr(SparseMLPRegressor, "_SAMPLING_STEP", {"sgld": 1e5, "sghmc": 1e5})
    with pytest.raises(TrainingDivergedError, match="chain 0"):
        SparseMLPRegressor((1,), method="sgld", n_chains=1, n_samples=50, **FAST).fit(X, Y)


def test_reproducible_and_independent_of_n_jobs():
    kw = dict(method="sgld", n_chains=2, n_samples=5, thin=1, **FAST)
    a = SparseMLPRegressor((1,), n_jobs=1, **kw).fit(X, Y)
    b = SparseMLPRegressor((1,), n_jobs=2, **kw).fit(X, Y)
    np.testing.assert_array_equal(a.posterior_["theta"], b.posterior_["theta"])
    np.testing.assert_array_equal(a.posterior_["sigma"], b.posterior_["sigma"])
    np.testing.assert_array_equal(a.inclusion_frequencies_, b.inclusion_frequencies_)


def test_classifier_posterior_probabilities():
    Xc, yc = make_sparse_classification(300, 4, random_state=0)
    clf = SparseMLPClassifier(
        (2,), method="sghmc", n_chains=2, n_samples=20, thin=2, n_epochs=40, random_state=0
    ).fit(Xc, yc)
    pi = clf.predict_interval(Xc[:5], kind="posterior")
    assert pi.mean.shape == (5, 2)
    assert np.all((pi.lower >= 0) & (pi.upper <= 1))
    np.testing.assert_allclose(pi.mean.sum(axis=1), 1.0)
    assert "sigma" not in clf.posterior_.names
    assert az.summary(clf.to_inference_data()).shape[0] == clf.posterior_["theta"].shape[-1]


def test_series_one_step_and_h_step_posterior_intervals():
    y = make_ar(300, {1: 0.6}, random_state=0)
    r = SparseRNN(
        lags=2, hidden_size=2, n_epochs=30, method="sghmc", n_chains=2, n_samples=30, thin=2,
        random_state=0,
    ).fit(y)  # fmt: skip
    assert r.inclusion_frequencies_.shape == (2,)
    h = r.predict_interval(steps=3, kind="posterior")
    assert h.mean.shape == (3,) and h.joint
    # the h-step spread grows with the horizon (innovations fed back), as the asymptotic one
    assert h.sd[2] >= h.sd[0] * 0.9
    one = r.predict_interval(series=y, kind="posterior")
    assert len(one) == len(r.predict(series=y))
    idata = r.to_inference_data(steps=3)
    assert idata.posterior_predictive["y"].shape == (2, 30, 3)


@pytest.mark.slow
def test_sghmc_agrees_with_nuts_on_a_tiny_network():
    """Posterior mean and sd of f(x) at four points: SGHMC against pyro's NUTS.

    Tolerance: 4 Monte Carlo standard errors of the difference, each from ArviZ's
    ``mcse`` (ESS-based), plus the SG-MCMC step bias: at ``c = 0.01`` the stationary
    sd of SGHMC exceeds the exact one by about c / (4 (1 - m)) = 2.5 % along the
    stiffest direction; allow 5 % of the sd.
    """
    common = dict(n_chains=2, n_epochs=150, random_state=0)
    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits["nuts"] = SparseMLPRegressor((1,), method="nuts", n_samples=50, thin=1, **common)
        fits["sghmc"] = SparseMLPRegressor((1,), method="sghmc", n_samples=100, thin=5, **common)
        for m in fits.values():
            m.fit(X, Y)
    stats = {}
    for name, m in fits.items():
        f = m._network_draws(lambda net, m=m: net(m._standardize(XQ)).squeeze(-1).double().numpy())
        f = (f * m.y_scale_ + m.y_mean_).reshape(m.posterior_.n_chains, -1, len(XQ))
        data = az.convert_to_dataset({"f": f})
        stats[name] = az.summary(data, kind="all", round_to="none")
    a, b = stats["sghmc"], stats["nuts"]
    se_mean = np.hypot(a["mcse_mean"], b["mcse_mean"]).to_numpy()
    se_sd = np.hypot(a["mcse_sd"], b["mcse_sd"]).to_numpy()
    assert np.all(np.abs(a["mean"] - b["mean"]).to_numpy() < 4 * se_mean)
    assert np.all(np.abs(a["sd"] - b["sd"]).to_numpy() < 4 * se_sd + 0.05 * b["sd"].to_numpy())
