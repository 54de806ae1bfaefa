"""Tests of ``SparseMLPRegressor``: selection consistency, interval coverage, the
scikit-learn estimator contract, reproducibility, restarts, training history and summary.

Statistical tests (``@pytest.mark.slow``) use the default estimator and fixed seeds; their
tolerances are derived in comments. They still run in ``make test``.
"""

from __future__ import annotations

import random
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.base import clone

import bsdl
from bsdl import MixtureGaussianPrior, NotFittedError, PredictionIntervals, SparseMLPRegressor
from bsdl.datasets import make_structure_regression
from bsdl.inference import ConstantSchedule, PriorAnnealing

TRUE_SUPPORT = [0, 1, 2, 3, 4]


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


# ============================================================================ statistics
@pytest.mark.slow
def test_selection_consistency_jasa_design(jasa_fit):
    """Sun, Song & Liang (JASA 2022), simulation 1: n=2000, p=50, the first five inputs
    matter. Consistency says the selected set equals {0,..,4} with probability -> 1; we
    require exact recovery in at least 4 of 5 seeds (the default estimator)."""
    exact = []
    for seed in range(5):
        model, _, _ = jasa_fit(seed)
        exact.append(list(model.selected_features_) == TRUE_SUPPORT)
    assert sum(exact) >= 4, f"exact recovery per seed: {exact}"


@pytest.mark.slow
def test_jasa_fit_is_accurate_and_sparse(jasa_fit):
    model, _, _ = jasa_fit(0)
    # the five inputs carry the signal: every other input has all its weights pruned
    assert np.all(model.mask_["linears.0.weight"][:, 5:] == 0)
    assert model.inclusion_probabilities_[:5].min() > 0.5
    assert model.sparsity_ > 0.9
    # 50 inputs, 16-8-1 network: 50*16 + 16 + 16*8 + 8 + 8 + 1 = 961 parameters, and the
    # linear path's 50 weights (skip=True, the default)
    assert model.n_params_ == 961 + 50
    # noise sd is 1 and the signal variance is ~ 20: a sensible fit explains most of it
    Xn, yn = bsdl.datasets.make_sparse_regression(2000, 50, random_state=100)
    assert model.score(Xn, yn) > 0.8


@pytest.fixture(scope="module")
def coverage_fit():
    """Default fit on the correctly specified design: the truth is a sparse tanh network."""
    X, y = make_structure_regression(2500, 10, random_state=0)
    X_new, y_new = make_structure_regression(2000, 10, random_state=1000)
    return _fit(SparseMLPRegressor(random_state=0), X, y), X_new, y_new


@pytest.mark.slow
def test_prediction_interval_coverage(coverage_fit):
    """95% prediction intervals cover 93%-97% of 2000 fresh points.

    With exact intervals the number covered is Binomial(2000, 0.95): the sd of the
    coverage is sqrt(.95 * .05 / 2000) = 0.0049, so +-2% is about +-4 sd. That leaves room
    for the estimation error of sigma (relative sd ~ 1/sqrt(2n) = 1.4% at n=2500, moving
    the coverage by ~0.4%) and of f (the delta-method term), but catches intervals that
    ignore the noise, double it, or use the wrong critical value (90% or 99% intervals
    cover 90%/99%, i.e. 10 sd away).
    """
    model, X_new, y_new = coverage_fit
    pi = model.predict_interval(X_new, alpha=0.05)
    cov = pi.coverage(y_new)
    assert 0.93 <= cov <= 0.97, cov
    # the noise sd is 1: the residual sd estimate is close to it (relative sd ~1.4%)
    assert model.sigma_ == pytest.approx(1.0, rel=0.1)
    # 80% intervals cover 80%: sd sqrt(.8*.2/2000) = 0.009, allow ~ +-4 sd
    assert abs(pi.with_alpha(0.2).coverage(y_new) - 0.8) < 0.04


@pytest.mark.slow
def test_confidence_intervals_narrower_than_prediction(coverage_fit):
    model, X_new, _ = coverage_fit
    X_new = X_new[:300]
    pred = model.predict_interval(X_new, kind="prediction")
    conf = model.predict_interval(X_new, kind="confidence")
    assert pred.kind == "prediction" and conf.kind == "confidence"
    np.testing.assert_array_equal(pred.mean, conf.mean)
    assert np.all(conf.se < pred.se)
    assert np.all(conf.width < pred.width)
    # se^2 = sigma^2 + Var f(x): the two kinds differ exactly by the noise variance
    np.testing.assert_allclose(pred.se**2 - conf.se**2, model.sigma_**2, rtol=1e-6)
    # confidence se is of order sigma * sqrt(k / n) (k non-zero weights), << sigma
    assert np.median(conf.se) < 0.5 * model.sigma_


# ============================================================================ intervals
def test_predict_interval_object(fitted_regressor, reg_data):
    _, _, X_new, _ = reg_data
    pi = fitted_regressor.predict_interval(X_new, alpha=0.05)
    assert isinstance(pi, PredictionIntervals)
    assert pi.mean.shape == pi.se.shape == (len(X_new),)
    np.testing.assert_allclose(pi.mean, fitted_regressor.predict(X_new), rtol=1e-12)
    assert np.all(pi.lower < pi.mean) and np.all(pi.mean < pi.upper)
    # Student-t critical value with the residual degrees of freedom n - k (as for OLS)
    t975 = stats.t.ppf(0.975, fitted_regressor.df_resid_)
    np.testing.assert_allclose(pi.upper - pi.mean, t975 * pi.se)
    # conf_int at another level equals with_alpha at that level
    ci = pi.conf_int(alpha=0.1)
    other = pi.with_alpha(0.1)
    np.testing.assert_array_equal(ci[:, 0], other.lower)
    np.testing.assert_array_equal(ci[:, 1], other.upper)
    # and equals a fresh call at that alpha
    direct = fitted_regressor.predict_interval(X_new, alpha=0.1)
    np.testing.assert_allclose(direct.lower, other.lower)
    assert list(pi.to_frame().columns) == ["mean", "se", "lower", "upper"]


def test_predict_interval_dataframe_keeps_index(fitted_regressor_df, reg_frame):
    _, _, X_new = reg_frame
    X_new = X_new.set_index(pd.Index([f"r{i}" for i in range(len(X_new))]))
    pi = fitted_regressor_df.predict_interval(X_new)
    assert list(pi.to_frame().index) == list(X_new.index)
    ci = pi.conf_int(alpha=0.1)
    assert isinstance(ci, pd.DataFrame) and list(ci.columns) == ["lower", "upper"]


# ============================================================================ sklearn contract
def _custom():
    return dict(
        hidden_layer_sizes=(5, 3),
        skip=False,
        prior=MixtureGaussianPrior(lambda_=1e-4, sigma0=0.02, sigma1=1.0),
        annealing=PriorAnnealing(warmup=2, ramp=3, anneal=5, temperature=0.05),
        optimizer="sghmc",
        lr=1e-3,
        n_epochs=20,
        batch_size=64,
        refit_epochs=3,
        n_restarts=2,
        restart_criterion="evidence",
        n_jobs=1,
        random_state=np.int64(7),
        device="cpu",
        verbose=False,
        method="sghmc",
        n_chains=2,
        n_samples=50,
        thin=3,
    )


def test_init_stores_arguments_unchanged():
    kwargs = _custom()
    est = SparseMLPRegressor(**kwargs)
    for name, value in kwargs.items():
        assert getattr(est, name) is value, name
    # nothing else is set by __init__
    assert set(vars(est)) == set(kwargs) | {"activation"}
    assert est.get_params(deep=False) == {**kwargs, "activation": "tanh"}


def test_default_params():
    params = SparseMLPRegressor().get_params(deep=False)
    assert params["hidden_layer_sizes"] == (16, 8)
    assert params["prior"] is None and params["annealing"] is None
    assert params["optimizer"] == "adam" and params["restart_criterion"] == "bic"


def test_clone_gives_equal_params():
    est = SparseMLPRegressor(**_custom())
    c = clone(est)
    assert c is not est
    p, q = est.get_params(deep=False), c.get_params(deep=False)
    assert p.keys() == q.keys()
    for key in p:
        if key == "prior":
            assert q[key].to_dict() == p[key].to_dict()
        elif key == "annealing":
            assert repr(q[key]) == repr(p[key])
        else:
            assert q[key] == p[key], key


def test_clone_of_default_estimator():
    est = SparseMLPRegressor((4,), lr=0.02)
    assert clone(est).get_params() == est.get_params()


def test_get_params_set_params_round_trip():
    est = SparseMLPRegressor(prior=MixtureGaussianPrior(1e-4, 0.02, 1.0))
    assert est.set_params(lr=0.05, hidden_layer_sizes=(3,)) is est
    assert est.lr == 0.05 and est.hidden_layer_sizes == (3,)
    with pytest.raises(ValueError, match="foo"):
        est.set_params(foo=1)
    # scikit-learn invariant: whatever get_params(deep=True) reports can be set back
    est.set_params(**est.get_params(deep=True))


def test_fit_returns_self_and_sets_trailing_underscore_attributes(reg_data, fast_params):
    X, y, _, _ = reg_data
    est = SparseMLPRegressor(**fast_params)
    before = set(vars(est))
    assert _fit(est, X, y) is est
    new = set(vars(est)) - before
    public = {k for k in new if not k.startswith("_")}
    assert all(k.endswith("_") for k in public), sorted(public)
    for attr in (
        "module_",
        "selected_features_",
        "n_features_in_",
        "sigma_",
        "bic_",
        "history_",
        "restarts_",
        "mask_",
        "sparsity_",
        "inclusion_probabilities_",
    ):
        assert attr in public
    # constructor arguments untouched by fit
    assert est.get_params(deep=False) == SparseMLPRegressor(**fast_params).get_params(deep=False)
    assert est.n_features_in_ == X.shape[1]
    assert not hasattr(est, "feature_names_in_")


@pytest.mark.parametrize("method", ["predict", "predict_interval", "summary", "save"])
def test_not_fitted_error(method, reg_data, tmp_path):
    X = reg_data[0]
    est = SparseMLPRegressor()
    args = {"predict": (X,), "predict_interval": (X,), "summary": (), "save": (tmp_path / "m",)}
    with pytest.raises(NotFittedError, match=method):
        getattr(est, method)(*args[method])
    assert issubclass(bsdl.NotFittedError, ValueError)  # sklearn's, also an AttributeError
    assert not (tmp_path / "m").exists()


def test_dataframe_input(fitted_regressor_df, reg_frame):
    X, _, X_new = reg_frame
    est = fitted_regressor_df
    assert isinstance(est.feature_names_in_, np.ndarray)
    assert list(est.feature_names_in_) == list(X.columns)
    sel = est.selected_features_
    assert isinstance(sel, np.ndarray) and sel.dtype.kind == "i"
    assert len(sel) > 0 and np.all((0 <= sel) & (sel < X.shape[1]))
    assert np.all(np.diff(sel) > 0)
    # a frame with the same columns predicts like the underlying array; the array has no
    # names to check against those of fit, which scikit-learn's validation says
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = est.predict(X_new.to_numpy())
    np.testing.assert_array_equal(est.predict(X_new), from_array)


def test_dataframe_with_other_columns_raises(fitted_regressor_df, reg_frame):
    _, _, X_new = reg_frame
    renamed = X_new.rename(columns={"x1": "z1"})
    with pytest.raises(ValueError, match="feature names"):
        fitted_regressor_df.predict(renamed)
    reordered = X_new[list(X_new.columns[::-1])]
    with pytest.raises(ValueError, match="feature names"):
        fitted_regressor_df.predict_interval(reordered)


def test_refit_on_array_forgets_feature_names(reg_frame, fast_params):
    X, y, _ = reg_frame
    est = SparseMLPRegressor(**{**fast_params, "n_epochs": 10})
    _fit(est, X, y)
    assert hasattr(est, "feature_names_in_")
    _fit(est, X.to_numpy(), y.to_numpy())
    assert not hasattr(est, "feature_names_in_")


# ============================================================================ reproducibility
def test_same_random_state_same_predictions(reg_data, fast_params, fitted_regressor):
    X, y, X_new, _ = reg_data
    again = _fit(SparseMLPRegressor(**fast_params), X, y)
    np.testing.assert_array_equal(again.predict(X_new), fitted_regressor.predict(X_new))
    np.testing.assert_array_equal(again.selected_features_, fitted_regressor.selected_features_)
    pd.testing.assert_frame_equal(again.history_, fitted_regressor.history_)
    # another seed gives another fit (so the comparison above can fail)
    other = _fit(SparseMLPRegressor(**{**fast_params, "random_state": 1}), X, y)
    assert not np.array_equal(other.predict(X_new), fitted_regressor.predict(X_new))


def test_numpy_generator_as_random_state(reg_data, fast_params):
    X, y, X_new, _ = reg_data
    params = {**fast_params, "n_epochs": 10}
    a = _fit(SparseMLPRegressor(**{**params, "random_state": np.random.default_rng(3)}), X, y)
    b = _fit(SparseMLPRegressor(**{**params, "random_state": np.random.default_rng(3)}), X, y)
    np.testing.assert_array_equal(a.predict(X_new), b.predict(X_new))


def test_no_global_rng_touched(reg_data, fast_params, tmp_path):
    X, y, X_new, _ = reg_data
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002 (the legacy global state)
    py_state = random.getstate()
    est = _fit(SparseMLPRegressor(**{**fast_params, "n_epochs": 10}), X, y)
    est.predict_interval(X_new)
    str(est.summary())
    bsdl.load(est.save(tmp_path / "m.safetensors")).predict(X_new)
    assert torch.equal(torch.random.get_rng_state(), torch_state), "global torch RNG advanced"
    np_after = np.random.get_state()  # noqa: NPY002 (the legacy global state)
    assert np.array_equal(np_after[1], np_state[1]) and np_after[2] == np_state[2]
    assert random.getstate() == py_state


# ============================================================================ restarts
@pytest.fixture(scope="module")
def restart_data():
    return bsdl.datasets.make_sparse_regression(300, 6, random_state=0)


RESTART = dict(hidden_layer_sizes=(4,), n_epochs=20, n_restarts=2, random_state=3)


def test_restarts_table(restart_data):
    X, y = restart_data
    est = _fit(SparseMLPRegressor(**RESTART), X, y)
    r = est.restarts_
    assert isinstance(r, pd.DataFrame) and len(r) == 2
    assert {"seed", "loss", "n_nonzero", "bic", "neg_log_evidence", "chosen"} <= set(r.columns)
    assert r["chosen"].dtype == bool and r["chosen"].sum() == 1
    assert r["seed"].nunique() == 2
    # BIC is the default criterion: the chosen restart has the smallest BIC
    assert r.loc[r["chosen"], "bic"].item() == r["bic"].min()
    assert est.bic_ == pytest.approx(r.loc[r["chosen"], "bic"].item())
    assert est.n_nonzero_ == r.loc[r["chosen"], "n_nonzero"].item()


def test_restart_criterion_evidence(restart_data):
    X, y = restart_data
    est = _fit(SparseMLPRegressor(**RESTART, restart_criterion="evidence"), X, y)
    r = est.restarts_
    assert r["chosen"].sum() == 1
    assert r.loc[r["chosen"], "neg_log_evidence"].item() == r["neg_log_evidence"].min()
    assert est.log_evidence_ == pytest.approx(-r["neg_log_evidence"].min())
    assert np.isfinite(est.log_evidence_)


def test_parallel_restarts_match_sequential(restart_data):
    X, y = restart_data
    seq = _fit(SparseMLPRegressor(**RESTART, n_jobs=1), X, y)
    par = _fit(SparseMLPRegressor(**RESTART, n_jobs=2), X, y)
    pd.testing.assert_frame_equal(seq.restarts_, par.restarts_, rtol=1e-6)
    np.testing.assert_allclose(par.predict(X[:50]), seq.predict(X[:50]), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(par.selected_features_, seq.selected_features_)


# ============================================================================ history
def test_history(fitted_regressor):
    h = fitted_regressor.history_
    assert isinstance(h, pd.DataFrame)
    assert {"loss", "sparsity", "sigma0", "temperature", "phase"} <= set(h.columns)
    phases = list(dict.fromkeys(h["phase"]))  # in order of appearance
    assert phases == ["warmup", "ramp", "anneal", "cool", "refit"]
    n_epochs = fitted_regressor.n_epochs_
    assert (h["phase"] != "refit").sum() == n_epochs
    assert len(h) == n_epochs + n_epochs // 5  # refit_epochs="auto": 20% of the epochs
    # sigma0 is annealed downwards, and never increases during the prior phases
    anneal = h.loc[h["phase"] == "anneal", "sigma0"].to_numpy()
    assert np.all(np.diff(anneal) <= 0) and anneal[-1] < anneal[0]
    prior_phases = h.loc[h["phase"] != "refit", "sigma0"].to_numpy()
    assert np.all(np.diff(prior_phases) <= 0)
    assert prior_phases[-1] == pytest.approx(fitted_regressor.prior_.sigma0)
    assert np.all(h["temperature"] == 0.0)  # adam: an optimiser
    assert np.all(np.isfinite(h["loss"]))
    assert np.all((h["sparsity"] >= 0) & (h["sparsity"] <= 1))
    # the refit keeps the pruned pattern: its sparsity is the final one
    refit = h.loc[h["phase"] == "refit", "sparsity"]
    assert refit.to_numpy() == pytest.approx(fitted_regressor.sparsity_)


def test_sghmc_with_temperature(reg_data):
    X, y, X_new, _ = reg_data
    est = _fit(
        SparseMLPRegressor(
            (8,),
            optimizer="sghmc",
            annealing=PriorAnnealing(temperature=0.1),
            n_epochs=40,
            random_state=0,
        ),
        X,
        y,
    )
    assert np.all(np.isfinite(est.predict(X_new)))
    h = est.history_
    assert np.all(h.loc[h["phase"].isin(["ramp", "anneal"]), "temperature"] == 0.1)
    assert np.all(h.loc[h["phase"] == "warmup", "temperature"] == 0.0)
    cool = h.loc[h["phase"] == "cool", "temperature"].to_numpy()
    assert np.all(np.diff(cool) < 0) and np.all(cool > 0)


def test_constant_schedule_and_sgd(reg_data):
    X, y, X_new, _ = reg_data
    est = _fit(
        SparseMLPRegressor(
            (4,), optimizer="sgd", annealing=ConstantSchedule(), n_epochs=10, random_state=0
        ),
        X,
        y,
    )
    assert set(est.history_["phase"]) == {"constant", "refit"}
    assert np.all(np.isfinite(est.predict(X_new)))


def test_adam_with_temperature_raises(reg_data):
    X, y, _, _ = reg_data
    est = SparseMLPRegressor(annealing=PriorAnnealing(temperature=0.1), optimizer="adam")
    with pytest.raises(ValueError, match="temperature"):
        est.fit(X, y)
    est = SparseMLPRegressor(annealing=ConstantSchedule(temperature=0.1), optimizer="sgd")
    with pytest.raises(ValueError, match="temperature"):
        est.fit(X, y)


def test_verbose_shows_progress_on_stderr(reg_data, capsys):
    X, y, _, _ = reg_data
    _fit(SparseMLPRegressor((4,), n_epochs=5, verbose=True, random_state=0), X, y)
    captured = capsys.readouterr()
    assert "anneal" in captured.err
    assert captured.out == ""


# ============================================================================ summary
def test_summary(fitted_regressor_df):
    est = fitted_regressor_df
    s = est.summary()
    text = str(s)
    assert "Sparse MLP Regression Results" in text
    assert "BIC" in text
    assert f"{est.bic_:.2f}" in text
    assert len(est.selected_features_) > 0
    for name in est.feature_names_in_[est.selected_features_]:
        assert name in text
    # the names of unselected inputs are not listed as selected
    table = text.split("Selected inputs")[-1]
    for name in np.delete(est.feature_names_in_, est.selected_features_):
        assert f"\n{name} " not in table
    assert "<table" in s.as_html()


def test_summary_array_input_uses_generic_names(fitted_regressor):
    text = str(fitted_regressor.summary())
    for i in fitted_regressor.selected_features_:
        assert f"x{i}" in text
