"""The ``device=`` code path on a GPU. Skipped where CUDA is absent (CI has none)."""

import numpy as np
import pytest
import torch

import bsdl
from bsdl.datasets import make_sparse_regression, make_structure_regression

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_regressor_on_cuda_selects_and_covers(tmp_path):
    X, y = make_sparse_regression(2000, 50, random_state=0)
    m = bsdl.SparseMLPRegressor(random_state=0, device="cuda").fit(X, y)
    assert next(m.module_.parameters()).is_cuda
    assert m.selected_features_.tolist() == [0, 1, 2, 3, 4]
    Xt, yt = make_sparse_regression(2000, 50, random_state=1)
    pi = m.predict_interval(Xt)
    assert np.isfinite(pi.se).all()
    # 2000 fresh points: binomial sd of the coverage is 0.005; allow +-0.03
    assert 0.92 <= pi.coverage(yt) <= 0.98
    path = m.save(tmp_path / "gpu.safetensors")
    m2 = bsdl.load(path)  # reloads on the device stored in the params ("cuda")
    np.testing.assert_allclose(m2.predict(Xt), m.predict(Xt), rtol=1e-6)


def test_same_seed_same_result_on_cuda():
    X, y = make_structure_regression(600, 8, random_state=0)
    a = bsdl.SparseMLPRegressor((6,), n_epochs=40, random_state=3, device="cuda").fit(X, y)
    b = bsdl.SparseMLPRegressor((6,), n_epochs=40, random_state=3, device="cuda").fit(X, y)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5, atol=1e-6)
