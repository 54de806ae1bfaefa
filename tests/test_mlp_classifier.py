"""Tests of ``SparseMLPClassifier``: accuracy and selection on the JASA classification
design, probabilities and their intervals, multiclass with string labels, the sklearn
contract."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from bsdl import NotFittedError, PredictionIntervals, SparseMLPClassifier
from bsdl.datasets import make_sparse_classification


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.fixture(scope="module")
def jasa_classifier():
    X, y = make_sparse_classification(2000, 20, random_state=0)
    X_new, y_new = make_sparse_classification(2000, 20, random_state=1)
    return _fit(SparseMLPClassifier(random_state=0), X, y), X_new, y_new


@pytest.mark.slow
def test_accuracy_on_jasa_design(jasa_classifier):
    """The labels are a deterministic function of x0..x3 (Bayes accuracy 1) and the classes
    are balanced (chance 0.5). On 2000 fresh points the sd of the accuracy is at most
    sqrt(.25/2000) = 0.011, so > 0.8 is far from chance and leaves room for a sparse net."""
    model, X_new, y_new = jasa_classifier
    assert model.score(X_new, y_new) > 0.8
    # the informative inputs are x0..x3; most of the 16 noise inputs are dropped
    sel = set(model.selected_features_)
    assert len(sel & {0, 1, 2, 3}) >= 3
    assert len(sel - {0, 1, 2, 3}) <= 2


@pytest.mark.slow
def test_probabilities_and_intervals(jasa_classifier):
    model, X_new, _ = jasa_classifier
    X_new = X_new[:300]
    proba = model.predict_proba(X_new)
    assert proba.shape == (300, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_array_equal(model.predict(X_new), model.classes_[proba.argmax(axis=1)])
    pi = model.predict_interval(X_new, alpha=0.05)
    assert isinstance(pi, PredictionIntervals)
    assert pi.kind == "confidence" and pi.bounds == (0.0, 1.0)
    np.testing.assert_allclose(pi.mean, proba, rtol=1e-6, atol=1e-7)
    assert np.all((pi.lower >= 0) & (pi.upper <= 1))
    assert np.all(pi.lower <= proba + 1e-7) and np.all(proba <= pi.upper + 1e-7)
    # the delta method gives non-degenerate intervals for uncertain points
    assert np.any(pi.se > 0)
    # two classes: p1 = 1 - p0, so both columns have the same standard error
    np.testing.assert_allclose(pi.se[:, 0], pi.se[:, 1], rtol=1e-3, atol=1e-6)  # float32
    assert list(pi.columns) == [str(c) for c in model.classes_]
    # wider at a smaller alpha
    assert np.all(pi.with_alpha(0.01).width >= pi.width - 1e-12)


def test_binary_basics(fitted_classifier, clf_data):
    X, y, X_new, y_new = clf_data
    est = fitted_classifier
    np.testing.assert_array_equal(est.classes_, [0, 1])
    assert est.n_features_in_ == X.shape[1]
    pred = est.predict(X_new)
    assert pred.dtype == y.dtype and set(pred) <= {0, 1}
    assert est.score(X_new, y_new) > 0.65  # quick fit; chance is 0.5 (sd 0.035 at n=200)
    proba = est.predict_proba(X_new)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    pi = est.predict_interval(X_new)
    assert np.all((pi.lower >= 0) & (pi.upper <= 1))
    assert np.all(pi.lower <= proba + 1e-7) and np.all(proba <= pi.upper + 1e-7)
    assert "Sparse MLP Classification Results" in str(est.summary())
    assert "BIC" in str(est.summary())
    assert not hasattr(est, "sigma_")


def test_multiclass_string_labels(fitted_multiclass, multiclass_data):
    X, y, X_new, y_new = multiclass_data
    est = fitted_multiclass
    np.testing.assert_array_equal(est.classes_, np.unique(y))  # sorted: high, low, mid
    pred = est.predict(X_new)
    assert pred.dtype.kind == "U" and set(pred) <= set(y)
    # chance is 1/3; the classes are nearly separable (noise sd 0.2 vs thresholds 0.75)
    acc = np.mean(pred == y_new)
    assert acc > 0.8, acc
    proba = est.predict_proba(X_new)
    assert proba.shape == (len(X_new), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    pi = est.predict_interval(X_new[:50], alpha=0.1)
    assert pi.mean.shape == (50, 3)
    assert list(pi.columns) == ["high", "low", "mid"]
    assert np.all((pi.lower >= 0) & (pi.upper <= 1))
    assert np.all(pi.lower <= proba[:50] + 1e-7) and np.all(proba[:50] <= pi.upper + 1e-7)
    frame = pi.to_frame()
    assert frame.shape == (50, 12)
    # the noise inputs 3..5 carry no signal
    assert {0, 1, 2} <= set(est.selected_features_)
    # reference-class parametrisation: C - 1 = 2 outputs
    assert est.module_.out_features == 2


def test_multiclass_labels_from_pandas(multiclass_data):
    X, y, _, _ = multiclass_data
    Xf = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    ys = pd.Series(y, dtype="category")
    est = _fit(SparseMLPClassifier((4,), n_epochs=5, random_state=0), Xf, ys)
    assert set(est.predict(Xf)) <= set(y)
    assert list(est.feature_names_in_) == list(Xf.columns)


def test_classifier_sklearn_contract(clf_data, tmp_path):
    X, y, _, _ = clf_data
    est = SparseMLPClassifier((3,), n_epochs=5, random_state=1)
    c = clone(est)
    assert c.get_params() == est.get_params()
    for method in ("predict", "predict_proba", "predict_interval"):
        with pytest.raises(NotFittedError):
            getattr(est, method)(X)
    with pytest.raises(NotFittedError):
        est.summary()
    with pytest.raises(NotFittedError):
        est.save(tmp_path / "c.safetensors")
    assert _fit(est, X, y) is est
    public = {k for k in vars(est) if not k.startswith("_")} - set(est.get_params())
    assert all(k.endswith("_") for k in public)
    assert "classes_" in public


def test_single_class_raises(clf_data):
    X, y, _, _ = clf_data
    with pytest.raises(ValueError, match="2 classes"):
        SparseMLPClassifier().fit(X, np.zeros(len(X), dtype=int))


def test_classifier_reproducible(clf_data, fast_params, fitted_classifier):
    X, y, X_new, _ = clf_data
    again = _fit(SparseMLPClassifier(**fast_params), X, y)
    np.testing.assert_array_equal(
        again.predict_proba(X_new), fitted_classifier.predict_proba(X_new)
    )


# ============================================================================ logit-scale intervals
# A well-specified, non-separable design: one tanh unit,
#     p(x) = expit(C + V tanh(x . W)),  x ~ N(0, I_5),
# inputs 3 and 4 are noise. The true log-odds lie in (C - V, C + V) = (-4.5, 1.5), so the
# class-1 probability ranges over (0.011, 0.82): never 0 or 1, and near 0 in one direction.
_W = np.array([1.0, -0.8, 0.6, 0.0, 0.0])
_C, _V = -1.5, 3.0
_N_FITS, _N_TRAIN, _N_TEST = 80, 2000, 200
# small settings that still reach the maximum of the posterior on this design (the
# network has 6 weights)
_CALIBRATION = dict(hidden_layer_sizes=(1,), n_epochs=60, lr=0.03)


def _p_true(X: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(_C + _V * np.tanh(X @ _W))))


@pytest.fixture(scope="module")
def calibration_fits():
    """``_N_FITS`` independent data sets and fits; each with its own fresh test points."""
    fits = []
    for r in range(_N_FITS):
        rng = np.random.default_rng(1000 + r)
        X = rng.standard_normal((_N_TRAIN, 5))
        y = (rng.random(_N_TRAIN) < _p_true(X)).astype(int)
        model = _fit(SparseMLPClassifier(random_state=r, **_CALIBRATION), X, y)
        fits.append((model, rng.standard_normal((_N_TEST, 5))))
    return fits


@pytest.mark.slow
def test_logit_intervals_cover_the_true_probability(calibration_fits):
    """95 % intervals of the true class-1 probability cover it 95 % of the time.

    Per fit, ``C_r`` is the fraction of its 200 fresh test points whose true probability
    lies in the interval. The ``C_r`` are independent, lie in [0, 1] and have mean ``c``
    (the coverage), so ``Var(C_r) <= c (1 - c)``: the binomial se
    ``sqrt(0.95 * 0.05 / 80) = 0.024`` bounds the se of their mean, and the mean must be
    within 3 of those of 0.95.
    """
    covered = []
    for model, X_test in calibration_fits:
        p = _p_true(X_test)
        pi = model.predict_interval(X_test, alpha=0.05)
        covered.append(np.mean((pi.lower[:, 1] <= p) & (p <= pi.upper[:, 1])))
    se = np.sqrt(0.95 * 0.05 / _N_FITS)
    assert abs(np.mean(covered) - 0.95) <= 3 * se, (np.mean(covered), se)


@pytest.mark.slow
def test_logit_interval_near_zero_is_not_degenerate(calibration_fits):
    """Where p is near 0 the interval keeps the log-odds' uncertainty: positive width,
    strictly inside (0, 1), symmetric on the log-odds scale (half-width z * se there) and
    so longer towards 1/2 than towards 0. A probability-scale interval would have a
    half-width p (1 - p) z se instead, shrinking to nothing as p goes to 0."""
    model, _ = calibration_fits[0]
    x_far = -3.0 * _W[None, :]  # true log-odds C - V tanh(6) = -4.5: p = 0.011
    pi = model.predict_interval(x_far, alpha=0.05)
    p, lo, hi, se = pi.mean[0, 1], pi.lower[0, 1], pi.upper[0, 1], pi.se[0, 1]
    assert p < 0.05
    assert 0.0 < lo < p < hi < 1.0 and se > 0
    z = 1.959963984540054
    logit = lambda q: np.log(q) - np.log1p(-q)  # noqa: E731
    np.testing.assert_allclose(logit(hi) - logit(p), z * se, rtol=1e-9)
    np.testing.assert_allclose(logit(p) - logit(lo), z * se, rtol=1e-9)
    assert hi - p > p - lo
    # binary: class 0's log-odds are minus class 1's, with the same se
    np.testing.assert_allclose(pi.se[0, 0], se, rtol=1e-6)
    np.testing.assert_allclose(pi.lower[0, 0], 1.0 - hi, rtol=1e-9)
