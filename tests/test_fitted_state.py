"""Fitted-state contract: what predict, predict_interval, summary and save need is stored at
fit under trailing-underscore attributes, so ``set_params`` after fit changes nothing the
fitted model reports until the next ``fit``.

Each estimator is fitted once; every test works on a deep copy, changes one constructor
argument to another valid value and compares every output bit for bit with the fitted
model's (predictions, intervals, the summary text, and a save/load round trip).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

import bsdl
from bsdl import MixtureGaussianPrior, SparseMLPClassifier, SparseMLPRegressor, SparseRNN
from bsdl.datasets import make_ar, make_sparse_classification, make_sparse_regression
from bsdl.inference import ConstantSchedule, PriorAnnealing

# ``device`` is left out everywhere: it says where to compute, not what was fitted (and a
# loaded model can be moved with ``bsdl.load(path, device=...)``).
NOT_STRUCTURAL = {"device"}

MLP_CHANGES = {
    "hidden_layer_sizes": (3, 2),
    "activation": "relu",
    "prior": MixtureGaussianPrior(lambda_=1e-3, sigma0=0.02, sigma1=2.0),
    "annealing": ConstantSchedule(),
    "optimizer": "sgd",
    "lr": 0.5,
    "n_epochs": 3,
    "batch_size": 7,
    "refit_epochs": 1,
    "n_restarts": 3,
    "restart_criterion": "evidence",
    "n_jobs": 2,
    "random_state": 123,
    "verbose": True,
    "method": "sgld",
    "n_chains": 2,
    "n_samples": 5,
    "thin": 2,
}

#: the regressor's own argument (the classifier has no linear path)
MLP_REGRESSOR_CHANGES = {**MLP_CHANGES, "skip": False}

RNN_CHANGES = {
    "lags": 2,
    "cell": "gru",
    "hidden_size": 5,
    "num_layers": 2,
    "window": 5,
    "burn_in": 1,
    "skip": False,
    "prune": "threshold",
    "missing": "interpolate",
    "noise": "heteroscedastic",
    "innovations": "t",
    "prior": MixtureGaussianPrior(lambda_=1e-3, sigma0=0.02, sigma1=2.0),
    "annealing": PriorAnnealing(warmup=0.2),
    "optimizer": "sgd",
    "lr": 0.5,
    "n_epochs": 3,
    "batch_size": 7,
    "refit_epochs": 1,
    "n_restarts": 3,
    "restart_criterion": "evidence",
    "n_jobs": 2,
    "random_state": 123,
    "verbose": True,
    "method": "sgld",
    "n_chains": 2,
    "n_samples": 5,
    "thin": 2,
}


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _intervals(pi) -> dict:
    return {a: np.asarray(getattr(pi, a)) for a in ("mean", "se", "lower", "upper")}


# ----------------------------------------------------------------------------- fits
@pytest.fixture(scope="module")
def mlp_fits():
    X, y = make_sparse_regression(120, 5, random_state=0)
    Xc, yc = make_sparse_classification(120, 5, random_state=0)
    small = dict(hidden_layer_sizes=(4,), n_epochs=15, lr=0.02, random_state=0)
    reg = _quiet(SparseMLPRegressor(**small).fit, X, y)
    clf = _quiet(SparseMLPClassifier(**small).fit, Xc, yc)
    return {"regressor": (reg, X[:7]), "classifier": (clf, Xc[:7])}


@pytest.fixture(scope="module")
def rnn_fits():
    small = dict(lags=4, hidden_size=3, window=4, n_epochs=10, random_state=0)
    y = make_ar(160, {1: 0.6, 2: -0.3}, random_state=0)
    plain = _quiet(SparseRNN(**small).fit, y)
    ye, xe = make_ar(160, {1: 0.5}, exog=2, random_state=1)
    with_exog = _quiet(SparseRNN(**small).fit, ye, xe)
    future = np.random.default_rng(2).standard_normal((3, 2))
    return {
        "plain": (plain, dict(series=y, exog=None, future=None)),
        "exog": (with_exog, dict(series=ye, exog=xe, future=future)),
    }


def _mlp_outputs(est, X) -> dict:
    out = {"predict": est.predict(X), "summary": str(est.summary())}
    if isinstance(est, SparseMLPClassifier):
        out["proba"] = est.predict_proba(X)
        out["interval"] = _intervals(est.predict_interval(X, alpha=0.1))
    else:
        for kind in ("prediction", "confidence"):
            out[kind] = _intervals(est.predict_interval(X, alpha=0.1, kind=kind))
    return out


def _rnn_outputs(est, data) -> dict:
    series, exog, future = data["series"], data["exog"], data["future"]
    one = None if future is None else future[:1]
    return {
        "predict": est.predict(exog=one).to_numpy(),
        "predict3": est.predict(steps=3, exog=future).to_numpy(),
        "interval": _intervals(est.predict_interval(exog=one)),
        "interval3": _intervals(est.predict_interval(steps=3, exog=future)),
        "confidence3": _intervals(est.predict_interval(steps=3, exog=future, kind="confidence")),
        "series": _intervals(est.predict_interval(series=series, exog=exog)),
        "summary": str(est.summary()),
    }


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            _assert_same(a[key], b[key])
        elif isinstance(a[key], str):
            assert a[key] == b[key], key
        else:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def _assert_same_param(a, b) -> None:
    if hasattr(b, "to_dict"):
        assert a.to_dict() == b.to_dict()
    elif hasattr(b, "__dict__"):
        assert type(a) is type(b) and vars(a) == vars(b)
    else:
        assert a == b


def test_every_argument_is_covered():
    """A new constructor argument must be added to this file (or to NOT_STRUCTURAL)."""
    for Est, changes in (
        (SparseMLPRegressor, MLP_REGRESSOR_CHANGES),
        (SparseMLPClassifier, MLP_CHANGES),
        (SparseRNN, RNN_CHANGES),
    ):
        assert set(changes) | NOT_STRUCTURAL == set(Est().get_params(deep=False)), Est
        for name, value in changes.items():  # each change is a real change
            assert repr(Est().get_params()[name]) != repr(value), (Est, name)


# ----------------------------------------------------------------------------- MLP
@pytest.mark.parametrize("which", ["regressor", "classifier"])
@pytest.mark.parametrize("name", sorted(MLP_CHANGES))
def test_mlp_set_params_after_fit_changes_nothing(mlp_fits, which, name, tmp_path):
    fitted, X = mlp_fits[which]
    before = _mlp_outputs(fitted, X)
    est = copy.deepcopy(fitted).set_params(**{name: MLP_CHANGES[name]})
    _assert_same(_mlp_outputs(est, X), before)
    loaded = bsdl.load(est.save(tmp_path / "m.safetensors"))
    _assert_same_param(loaded.get_params()[name], MLP_CHANGES[name])  # the file has the new
    _assert_same(_mlp_outputs(loaded, X), before)  # argument, and the fitted model


def test_mlp_refit_uses_the_new_structure(mlp_fits):
    fitted, X = mlp_fits["regressor"]
    est = copy.deepcopy(fitted).set_params(hidden_layer_sizes=(3, 2), activation="relu")
    _quiet(est.fit, *make_sparse_regression(120, 5, random_state=0))
    assert est.hidden_layer_sizes_.tolist() == [3, 2] and est.activation_ == "relu"
    assert "5-3-2-1 (relu)" in str(est.summary())


def test_mlp_regressor_set_params_skip_after_fit_changes_nothing(mlp_fits, tmp_path):
    fitted, X = mlp_fits["regressor"]
    assert fitted.skip_ is True
    before = _mlp_outputs(fitted, X)
    est = copy.deepcopy(fitted).set_params(skip=False)
    _assert_same(_mlp_outputs(est, X), before)
    loaded = bsdl.load(est.save(tmp_path / "m.safetensors"))
    assert loaded.get_params()["skip"] is False and loaded.skip_ is True
    _assert_same(_mlp_outputs(loaded, X), before)


@pytest.mark.parametrize("which", ["regressor", "classifier"])
def test_mlp_file_without_the_structure_attributes_loads(mlp_fits, which, tmp_path):
    """Files written before the structure was stored at fit still load."""
    fitted, X = mlp_fits[which]
    old = copy.deepcopy(fitted)
    for attr in ("hidden_layer_sizes_", "activation_", "optimizer_", "skip_"):
        if hasattr(old, attr):
            delattr(old, attr)
    loaded = bsdl.load(old.save(tmp_path / "old.safetensors"))
    assert loaded.hidden_layer_sizes_.tolist() == [4]
    _assert_same(_mlp_outputs(loaded, X), _mlp_outputs(fitted, X))


# ----------------------------------------------------------------------------- SparseRNN
@pytest.mark.parametrize("which", ["plain", "exog"])
@pytest.mark.parametrize("name", sorted(RNN_CHANGES))
def test_rnn_set_params_after_fit_changes_nothing(rnn_fits, which, name, tmp_path):
    fitted, data = rnn_fits[which]
    before = _rnn_outputs(fitted, data)
    est = copy.deepcopy(fitted).set_params(**{name: RNN_CHANGES[name]})
    _assert_same(_rnn_outputs(est, data), before)
    loaded = bsdl.load(est.save(tmp_path / "r.safetensors"))
    _assert_same_param(loaded.get_params()[name], RNN_CHANGES[name])
    _assert_same(_rnn_outputs(loaded, data), before)


def test_rnn_missing_rule_is_the_fitted_one(rnn_fits):
    """missing="raise" at fit: a gap in series= still raises after set_params."""
    fitted, data = rnn_fits["plain"]
    gappy = pd.Series(data["series"]).astype(float)
    gappy.iloc[50] = np.nan
    est = copy.deepcopy(fitted).set_params(missing="interpolate")
    for model in (fitted, est):
        with pytest.raises(ValueError, match="series"):
            model.predict(series=gappy.to_numpy())


def test_rnn_refit_uses_the_new_structure(rnn_fits):
    fitted, data = rnn_fits["plain"]
    est = copy.deepcopy(fitted).set_params(lags=2, window=5, burn_in=1, cell="gru")
    _quiet(est.fit, data["series"])
    assert (est.lags_, est.window_, est.burn_in_, est.cell_) == (2, 5, 1, "gru")
    assert est.inclusion_probabilities_.shape == (2,)


def test_rnn_file_without_the_structure_attributes_loads(rnn_fits, tmp_path):
    fitted, data = rnn_fits["exog"]
    old = copy.deepcopy(fitted)
    for attr in (
        "lags_",
        "window_",
        "cell_",
        "hidden_size_",
        "num_layers_",
        "skip_",
        "missing_",
        "optimizer_",
    ):
        delattr(old, attr)
    loaded = bsdl.load(old.save(tmp_path / "old.safetensors"))
    assert (loaded.lags_, loaded.window_, loaded.burn_in_) == (4, 4, 2)
    _assert_same(_rnn_outputs(loaded, data), _rnn_outputs(fitted, data))
