"""The per-layer sparse kernels of export (bsdl.pruning.sparse_kernels): every format gives
``x @ W.T``; the numba format stores unsigned row pointers and the narrowest unsigned column
indices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bsdl.pruning import sparse_kernels
from bsdl.pruning.sparse_linear import to_csr


def sparse_weight(rows, cols, keep, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(rows, cols, generator=g, dtype=dtype)
    w[torch.rand(rows, cols, generator=g) >= keep] = 0
    w[1] = 0  # an empty row: its pointer range is empty
    return w


def handle(fmt, w):
    c = to_csr(w)
    crow, col = c.crow_indices().to(torch.int32), c.col_indices().to(torch.int32)
    return sparse_kernels.build(fmt, crow, col, c.values(), w.shape)


@pytest.mark.parametrize("fmt", sparse_kernels.available_formats())
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("keep", [0.2, 0.6])  # about 11 and 32 stored entries per row: the
def test_every_format_equals_the_dense_product(fmt, batch, dtype, keep):  # 8-at-a-time path
    w = sparse_weight(37, 53, keep, dtype=dtype)
    x = torch.randn(batch, 53, dtype=dtype)
    out = sparse_kernels.matmul(fmt, handle(fmt, w), x)
    assert out.shape == (batch, 37)
    torch.testing.assert_close(out, x @ w.T)


numba_only = pytest.mark.skipif(
    "numba" not in sparse_kernels.available_formats(), reason="numba is not installed"
)


@numba_only
@pytest.mark.parametrize("batch", [1, 4])
def test_numba_pointers_are_unsigned_and_wide_layers_use_32_bit_columns(batch):
    narrow = handle("numba", sparse_weight(9, 40, 0.3))
    assert narrow[0].dtype == np.uint32 and narrow[1].dtype == np.uint16
    # more than 65,536 inputs: the column indices no longer fit 16 bits
    w = torch.zeros(3, 70_000)
    w[0, [0, 65_535, 65_536, 69_999]] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    w[2, 68_000] = -1.5
    h = handle("numba", w)
    assert h[0].dtype == np.uint32 and h[1].dtype == np.uint32
    x = torch.randn(batch, 70_000)
    torch.testing.assert_close(sparse_kernels.matmul("numba", h, x), x @ w.T)


@numba_only
def test_numba_threads_give_the_serial_result():
    w = sparse_weight(64, 48, 0.25, seed=3)
    x = torch.randn(5, 48)
    h = handle("numba", w)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = sparse_kernels.matmul("numba", h, x)
        torch.set_num_threads(2)
        two = sparse_kernels.matmul("numba", h, x)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(one, two)
    torch.testing.assert_close(one, x @ w.T)


def test_gate_sigmoid_against_the_exact_function():
    # the fused LSTM's arithmetic-only sigmoid (Taylor polynomial and seven squarings); its
    # comment bounds the relative error by 4e-13; checked in plain Python (no numba needed)
    # against the exact function (scipy's expit) over the whole range, tails included
    from scipy.special import expit

    from bsdl.pruning._kernels_fused import _sigmoid

    xs = np.concatenate([np.linspace(-60, 60, 4001), [-1e-12, 0.0, 1e-12, 39.999, 40.0, 45.0]])
    got = np.array([_sigmoid(float(x)) for x in xs])
    exact = expit(xs)
    inside = np.abs(xs) <= 40
    assert np.max(np.abs(got[inside] / exact[inside] - 1)) < 4e-13
    assert np.max(np.abs(got - exact)) < 5e-18 + 4e-13  # beyond |x| = 40: the clamped value
