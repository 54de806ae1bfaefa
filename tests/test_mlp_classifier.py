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
