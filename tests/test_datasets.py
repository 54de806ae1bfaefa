"""Tests for bsdl.datasets: simulators of Sun, Song & Liang (2022) and real-data loaders."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bsdl.datasets import (
    load_diabetes,
    make_sparse_classification,
    make_sparse_regression,
    make_structure_regression,
)

SIMULATORS = [make_sparse_regression, make_sparse_classification, make_structure_regression]


# Mean functions written out again from the paper (1-based x1..x5 -> columns 0..4).
def regression_mean(X):
    x1, x2, x3, x4, x5 = (X[:, j] for j in range(5))
    return 5 * x2 / (1 + x1**2) + 5 * np.sin(x3 * x4) + 2 * x5


def classification_latent(X):
    x1, x2, x3, x4 = (X[:, j] for j in range(4))
    return np.exp(x1) + x2**2 + 5 * np.sin(x3 * x4) - 3


def structure_mean(X):
    x1, x2, x3, x4, x5 = (X[:, j] for j in range(5))
    inner = 2 * np.tanh(x3 - 2 * x4) - np.tanh(2 * x5)
    return np.tanh(2 * np.tanh(2 * x1 - x2)) + 2 * np.tanh(inner)


def offdiag_correlations(X):
    c = np.corrcoef(X, rowvar=False)
    return c[np.triu_indices_from(c, k=1)]


# --------------------------------------------------------------------------- shapes & types
@pytest.mark.parametrize("make", SIMULATORS)
def test_shapes_and_dtypes(make):
    X, y = make(n_samples=37, n_features=11, random_state=0)
    assert X.shape == (37, 11)
    assert y.shape == (37,)
    assert X.dtype == np.float64
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))


def test_default_sizes():
    X, y = make_sparse_regression(random_state=0)
    assert X.shape == (1000, 1000) and y.shape == (1000,)


def test_label_dtype_and_values():
    _, y = make_sparse_classification(n_samples=50, n_features=6, random_state=0)
    assert y.dtype == np.int64
    assert set(np.unique(y)) <= {0, 1}
    _, y = make_sparse_regression(n_samples=10, n_features=5, random_state=0)
    assert y.dtype == np.float64


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (make_sparse_regression, [0, 1, 2, 3, 4]),
        (make_sparse_classification, [0, 1, 2, 3]),
        (make_structure_regression, [0, 1, 2, 3, 4]),
    ],
)
def test_return_support(make, expected):
    X, y, support = make(n_samples=20, n_features=8, random_state=0, return_support=True)
    np.testing.assert_array_equal(support, expected)
    assert np.issubdtype(support.dtype, np.integer)
    # support does not change the draw
    X2, y2 = make(n_samples=20, n_features=8, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_minimum_feature_counts():
    assert make_sparse_regression(n_samples=3, n_features=5, random_state=0)[0].shape == (3, 5)
    assert make_structure_regression(n_samples=3, n_features=5, random_state=0)[0].shape == (3, 5)
    assert make_sparse_classification(n_samples=3, n_features=4, random_state=0)[0].shape == (3, 4)


# --------------------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("make", SIMULATORS)
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(n_samples=60, n_features=9, random_state=123)
    X2, y2 = make(n_samples=60, n_features=9, random_state=123)
    X3, _ = make(n_samples=60, n_features=9, random_state=124)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("make", SIMULATORS)
def test_random_state_objects(make):
    rs = np.random.RandomState(5)
    Xa, _ = make(n_samples=30, n_features=6, random_state=rs)
    Xb, _ = make(n_samples=30, n_features=6, random_state=rs)  # state advanced
    assert not np.allclose(Xa, Xb)
    Xc, _ = make(n_samples=30, n_features=6, random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(Xa, Xc)
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(
        make(n_samples=30, n_features=6, random_state=g1)[0],
        make(n_samples=30, n_features=6, random_state=g2)[0],
    )


def test_no_global_seeding():
    # the legacy global generator is exactly what must stay untouched
    np.random.seed(2024)  # noqa: NPY002
    expected = np.random.random_sample(3)  # noqa: NPY002
    np.random.seed(2024)  # noqa: NPY002
    make_sparse_regression(n_samples=50, n_features=6, random_state=0)
    make_sparse_classification(n_samples=50, n_features=6, random_state=0)
    make_structure_regression(n_samples=50, n_features=6, random_state=0)
    np.testing.assert_array_equal(np.random.random_sample(3), expected)  # noqa: NPY002


# --------------------------------------------------------------------------- covariate law
@pytest.mark.parametrize("rho", [0.5, 0.2, 0.0, 0.9])
def test_pairwise_correlation(rho):
    n = 20_000
    X, _ = make_sparse_regression(n_samples=n, n_features=8, correlation=rho, random_state=1)
    # sd of a sample correlation coefficient (normal data): (1 - rho^2) / sqrt(n)
    se = (1 - rho**2) / np.sqrt(n)
    r = offdiag_correlations(X)
    assert np.max(np.abs(r - rho)) < 5 * se + 1e-12
    # unit variances: sd of a sample variance is sqrt(2 / n)
    np.testing.assert_allclose(X.var(axis=0), 1.0, atol=5 * np.sqrt(2 / n))
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=5 / np.sqrt(n))


def test_default_correlation_is_one_half():
    n = 20_000
    X, _ = make_structure_regression(n_samples=n, n_features=6, random_state=2)
    se = (1 - 0.25) / np.sqrt(n)
    assert np.max(np.abs(offdiag_correlations(X) - 0.5)) < 5 * se


def test_covariates_are_truncated():
    X, _ = make_sparse_regression(n_samples=500, n_features=50, random_state=0)
    assert np.max(np.abs(X)) <= 10.0 * np.sqrt(2)


# --------------------------------------------------------------------------- response law
@pytest.mark.parametrize("noise", [1.0, 0.3, 2.5])
def test_regression_mean_and_noise(noise):
    n = 20_000
    X, y = make_sparse_regression(n_samples=n, n_features=7, noise=noise, random_state=3)
    resid = y - regression_mean(X)
    # sample variance / sigma^2 ~ chi2_n / n, whose sd is sqrt(2 / n)
    assert abs(resid.var() / noise**2 - 1) < 5 * np.sqrt(2 / n)
    assert abs(resid.mean()) < 5 * noise / np.sqrt(n)
    # the residual carries no signal from the informative inputs
    assert abs(np.corrcoef(resid, regression_mean(X))[0, 1]) < 5 / np.sqrt(n)


def test_regression_noiseless_is_exact_mean():
    X, y = make_sparse_regression(n_samples=300, n_features=12, noise=0.0, random_state=4)
    np.testing.assert_allclose(y, regression_mean(X), rtol=1e-12, atol=1e-12)


def test_regression_ignores_uninformative_inputs():
    X, y = make_sparse_regression(n_samples=200, n_features=9, noise=0.0, random_state=4)
    X[:, 5:] = 123.0
    np.testing.assert_allclose(y, regression_mean(X))


def test_structure_mean_and_noise():
    n = 20_000
    X, y = make_structure_regression(n_samples=n, n_features=6, random_state=5)
    resid = y - structure_mean(X)
    assert abs(resid.var() - 1) < 5 * np.sqrt(2 / n)
    X0, y0 = make_structure_regression(n_samples=100, n_features=6, noise=0.0, random_state=5)
    np.testing.assert_allclose(y0, structure_mean(X0), rtol=1e-12, atol=1e-12)


def test_structure_x_scale():
    n = 20_000
    s = np.sqrt(0.5)
    X, _ = make_structure_regression(n_samples=n, n_features=6, x_scale=s, random_state=6)
    # sd of the sample variance: s^2 sqrt(2 / n)
    np.testing.assert_allclose(X.var(axis=0), 0.5, atol=5 * 0.5 * np.sqrt(2 / n))
    assert np.max(np.abs(offdiag_correlations(X) - 0.5)) < 5 * 0.75 / np.sqrt(n)


# --------------------------------------------------------------------------- classification
@pytest.mark.parametrize("n", [1, 2, 7, 1000, 1001])
def test_exact_class_balance(n):
    X, y = make_sparse_classification(n_samples=n, n_features=10, random_state=n)
    assert y.sum() == n // 2
    assert (y == 0).sum() == n - n // 2


def test_labels_are_sign_of_latent():
    for balanced in (True, False):
        X, y = make_sparse_classification(
            n_samples=2000, n_features=10, balanced=balanced, random_state=7
        )
        np.testing.assert_array_equal(y, (classification_latent(X) > 0).astype(int))


def test_balanced_rows_are_shuffled():
    _, y = make_sparse_classification(n_samples=1000, n_features=5, random_state=8)
    # both halves of the output hold both classes in similar numbers (not sorted by class)
    assert 200 < y[:500].sum() < 300


def test_unbalanced_prevalence():
    n = 20_000
    _, y = make_sparse_classification(n_samples=n, n_features=4, balanced=False, random_state=9)
    # P(t > 0) is about 0.49 at rho = 0.5; binomial sd sqrt(p (1 - p) / n) ~ 0.0035
    assert 0.45 < y.mean() < 0.53


def test_balanced_noise_features_keep_correlation():
    n = 20_000
    X, y = make_sparse_classification(n_samples=n, n_features=9, random_state=10)
    r = offdiag_correlations(X[:, 4:])
    assert np.max(np.abs(r - 0.5)) < 5 * 0.75 / np.sqrt(n)
    np.testing.assert_allclose(X[:, 4:].var(axis=0), 1.0, atol=5 * np.sqrt(2 / n))
    # noise features share the common factor of the accepted informative rows
    factor = X[:, 4:].mean(axis=1)
    for k in range(4):
        assert np.corrcoef(factor, X[:, k])[0, 1] > 0.3


# --------------------------------------------------------------------------- as_frame
@pytest.mark.parametrize("make", SIMULATORS)
def test_as_frame(make):
    X, y = make(n_samples=15, n_features=7, random_state=0, as_frame=True)
    Xa, ya = make(n_samples=15, n_features=7, random_state=0)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert list(X.columns) == [f"x{j}" for j in range(1, 8)]
    assert y.name == "y"
    assert X.index.equals(y.index)
    np.testing.assert_array_equal(X.to_numpy(), Xa)
    np.testing.assert_array_equal(y.to_numpy(), ya)
    X, y, support = make(
        n_samples=15, n_features=7, random_state=0, as_frame=True, return_support=True
    )
    assert list(X.columns[support]) == [f"x{j + 1}" for j in support]


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("make", SIMULATORS)
@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n_samples": 0}, ValueError, "n_samples"),
        ({"n_samples": -3}, ValueError, "n_samples"),
        ({"n_samples": 10.0}, TypeError, "n_samples"),
        ({"n_samples": True}, TypeError, "n_samples"),
        ({"n_features": 3}, ValueError, "n_features"),
        ({"n_features": "10"}, TypeError, "n_features"),
        ({"correlation": 1.0}, ValueError, "correlation"),
        ({"correlation": -0.1}, ValueError, "correlation"),
        ({"correlation": float("nan")}, ValueError, "correlation"),
        ({"random_state": "seed"}, ValueError, "random_state"),
        ({"as_frame": "yes"}, TypeError, "as_frame"),
        ({"return_support": 1}, TypeError, "return_support"),
    ],
)
def test_bad_arguments(make, kwargs, exc, name):
    with pytest.raises(exc, match=name):
        make(**kwargs)


@pytest.mark.parametrize("make", [make_sparse_regression, make_structure_regression])
def test_five_features_required_for_regression(make):
    with pytest.raises(ValueError, match="n_features"):
        make(n_samples=10, n_features=4)


@pytest.mark.parametrize("make", [make_sparse_regression, make_structure_regression])
@pytest.mark.parametrize("noise", [-1.0, float("inf"), float("nan")])
def test_bad_noise(make, noise):
    with pytest.raises(ValueError, match="noise"):
        make(n_samples=10, n_features=5, noise=noise)


@pytest.mark.parametrize("x_scale", [0.0, -1.0, float("inf")])
def test_bad_x_scale(x_scale):
    with pytest.raises(ValueError, match="x_scale"):
        make_structure_regression(n_samples=10, n_features=5, x_scale=x_scale)


def test_bad_balanced():
    with pytest.raises(TypeError, match="balanced"):
        make_sparse_classification(n_samples=10, n_features=5, balanced="no")


def test_keyword_only_options():
    with pytest.raises(TypeError):
        make_sparse_regression(10, 5, 1.0)  # noise must be passed by keyword


# --------------------------------------------------------------------------- real data
def test_load_diabetes_offline(no_network):
    data = load_diabetes()
    assert isinstance(data.X, pd.DataFrame) and isinstance(data.y, pd.Series)
    assert data.X.shape == (442, 10)
    assert data.y.shape == (442,)
    assert list(data.X.columns) == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert data.feature_names == list(data.X.columns)
    assert "diabetes" in data.description.lower()
    assert data.DESCR == data.description
    assert data.frame.shape == (442, 11)
    # target: disease progression, integers 25..346 in the original data
    assert data.y.min() == 25 and data.y.max() == 346
    # scaled covariates: centred with unit Euclidean norm
    np.testing.assert_allclose(data.X.mean(), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.sqrt((data.X**2).sum()), 1.0, rtol=1e-6)


def test_load_diabetes_return_X_y_and_unscaled(no_network):
    X, y = load_diabetes(return_X_y=True)
    assert X.shape == (442, 10) and y.name == "target"
    raw = load_diabetes(scaled=False)
    assert raw.X["age"].between(18, 80).all()
    assert set(raw.X["sex"].unique()) == {1.0, 2.0}
    with pytest.raises(TypeError, match="scaled"):
        load_diabetes(scaled="no")


# --------------------------------------------------------------------------- layering
def _imported_roots(package_dir: Path) -> dict[str, set[str]]:
    """Top-level modules imported by each file of a package (relative imports skipped);
    ``bsdl`` imports are kept as ``bsdl.<module>``."""
    out = {}
    for path in package_dir.glob("*.py"):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                roots.add(".".join(parts[:2]) if parts[0] == "bsdl" else parts[0])
        out[path.name] = roots
    return out


def test_datasets_layer_imports():
    """bsdl.datasets is layer L1: numpy, pandas, scipy, sklearn, statsmodels, stdlib only."""
    import bsdl.datasets as pkg

    allowed = {"numpy", "pandas", "scipy", "sklearn", "statsmodels"} | set(sys.stdlib_module_names)
    for name, roots in _imported_roots(Path(pkg.__file__).parent).items():
        assert roots <= allowed, f"{name} imports {roots - allowed}"


def test_conformal_layer_imports():
    """bsdl.conformal is layer L1: no torch, no bsdl models; only L0 helpers from bsdl."""
    import bsdl.conformal as pkg

    allowed = {"numpy", "pandas", "scipy", "joblib", "bsdl._validation", "bsdl.exceptions"}
    allowed |= {"bsdl.results"}  # L0: the shared intervals base
    allowed |= set(sys.stdlib_module_names)
    found = _imported_roots(Path(pkg.__file__).parent)
    assert "split.py" in found and "enbpi.py" in found
    for name, roots in found.items():
        assert roots <= allowed, f"{name} imports {roots - allowed}"
