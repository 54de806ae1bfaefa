"""Cache-sized batch tiles (bsdl.pruning._batch_tiles): the tile width follows the L2 size
and the tiled compiled products (the numba format, the fused stack, the fused LSTM's input
projection) equal the dense ones when the batch spans several tiles and a remainder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _pruning_helpers import sparse_
from torch import nn

from bsdl.pruning import _batch_tiles, export, sparse_kernels
from bsdl.pruning.export_fused import FusedSparseLSTM, fused_available
from bsdl.pruning.sparse_linear import to_csr

numba_only = pytest.mark.skipif(not fused_available(), reason="numba is not installed")


@pytest.fixture
def small_l2(monkeypatch):
    """An L2 of 4 KiB: every tile has the fewest columns (64), so a batch of 150 is cut into
    64 + 64 + 22."""
    monkeypatch.setattr(_batch_tiles, "l2_bytes", lambda: 4096)
    assert _batch_tiles.tile_columns(8, 4) == _batch_tiles.MIN_TILE == 64


def test_tile_width_fills_half_of_l2(monkeypatch):
    monkeypatch.setattr(_batch_tiles, "l2_bytes", lambda: 2 << 20)
    # 1 MiB over 1024 float32 inputs: 256 columns; over 4096 float64 inputs: 32 -> 64
    assert _batch_tiles.tile_columns(1024, 4) == 256
    assert _batch_tiles.tile_columns(4096, 8) == 64
    assert _batch_tiles.tile_columns(1000, 4) == 256  # 262 rounded down to a multiple of 16


def test_sysfs_sizes_are_parsed():
    assert _batch_tiles._size("2048K\n") == 2 << 20
    assert _batch_tiles._size("1M") == 1 << 20
    assert _batch_tiles._size("512") == 512


def test_tiled_product_covers_every_column_once():
    xt = np.arange(3 * 150, dtype=float).reshape(3, 150)[:, ::-1]  # a strided view
    w = np.array([[1.0, -2.0, 0.5]])
    calls = []

    def run(x, n, o):
        assert x.flags.c_contiguous and x.size == 3 * n and o.size == n
        calls.append(n)
        o[:] = w @ x.reshape(3, n)

    out = _batch_tiles.tiled_product(run, xt, np.full((1, 150), np.nan), tile=64)
    assert calls == [64, 64, 22]
    np.testing.assert_array_equal(out, w @ xt)


@numba_only
@pytest.mark.parametrize("threads", [1, 2])
def test_numba_format_over_tiles(small_l2, threads):
    g = torch.Generator().manual_seed(0)
    w = torch.randn(37, 53, generator=g) * (torch.rand(37, 53, generator=g) < 0.3)
    c = to_csr(w)
    h = sparse_kernels.build(
        "numba", c.crow_indices().to(torch.int32), c.col_indices().to(torch.int32),
        c.values(), w.shape,
    )  # fmt: skip
    x = torch.randn(150, 53)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = sparse_kernels.matmul("numba", h, x)
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(out, x @ w.T)


@numba_only
def test_fused_stack_over_tiles(small_l2):
    torch.manual_seed(3)
    net = nn.Sequential(nn.Linear(9, 24), nn.ReLU(), nn.Linear(24, 6), nn.Tanh()).eval()
    sparse_(net, 0.4, 3)
    small = export(net, csr="fused")
    x = torch.randn(150, 9)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(small(x[:65]), net(x[:65]), rtol=1e-5, atol=1e-5)


@numba_only
def test_fused_lstm_input_projection_over_tiles(small_l2):
    torch.manual_seed(4)
    lstm = nn.LSTM(5, 12, batch_first=True).eval()
    sparse_(lstm, 0.3, 4)
    fused = FusedSparseLSTM(lstm)
    x = torch.randn(10, 15, 5)  # T * B = 150 columns of the input projection
    with torch.no_grad():
        torch.testing.assert_close(fused(x), lstm(x), rtol=1e-5, atol=1e-5)
