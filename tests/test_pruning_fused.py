"""The fused (numba) modules of export: a whole Linear stack and an LSTM's time loop in one
compiled call give the masked model's outputs (every activation with a compiled version,
batch 1 and larger, float64, two threads, states passed in and not changed)."""

from __future__ import annotations

import pytest
import torch
from _pruning_helpers import sparse_
from torch import nn

from bsdl.pruning import export
from bsdl.pruning._kernels_fused import ACTIVATIONS
from bsdl.pruning.export_fused import FusedSparseLSTM, FusedSparseStack, fused_available

pytestmark = pytest.mark.skipif(not fused_available(), reason="numba is not installed")

ACTS = [
    nn.ReLU(),
    nn.LeakyReLU(0.2),
    nn.ELU(0.7),
    nn.GELU(),
    nn.GELU(approximate="tanh"),
    nn.SiLU(),
    nn.Mish(),
    nn.Tanh(),
    nn.Sigmoid(),
    nn.Softplus(beta=2.0, threshold=5.0),
    nn.Hardtanh(-0.5, 0.8),
    nn.Identity(),
    nn.Dropout(0.5),
]


def test_every_activation_name_is_covered():
    assert {type(a).__name__ for a in ACTS} == set(ACTIVATIONS)


@pytest.mark.parametrize("act", ACTS, ids=lambda a: repr(a))
def test_fused_stack_matches_each_activation(act):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(7, 16), act, nn.Linear(16, 5)).eval()
    sparse_(net, 0.4, 0)
    small = export(net, csr="fused")
    assert isinstance(small.module[0], FusedSparseStack)
    x = 3 * torch.randn(4, 7)  # wide enough to reach every branch of the activations
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(small(x[:1]), net(x[:1]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_stack_float64_threads_and_dead_inputs(threads, dtype):
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Linear(12, 20), nn.ReLU(), nn.Linear(20, 20), nn.Tanh(), nn.Linear(20, 3), nn.ReLU()
    ).to(dtype)
    sparse_(net, 0.3, 1)
    with torch.no_grad():
        net[0].weight[:, 5] = 0  # an input never read: the first layer reads the others
        net[2].bias = None
    small = export(net, csr="fused")
    assert small.module[0].widths[0] == 12 and isinstance(small.module[5], nn.ReLU)
    x = torch.randn(2, 6, 12, dtype=dtype)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            out = small(x)
    finally:
        torch.set_num_threads(before)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    with torch.no_grad():
        torch.testing.assert_close(out, net(x), rtol=tol, atol=tol)
    assert out.dtype == dtype


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_lstm_matches_nn_lstm(threads, batch_first, bias):
    torch.manual_seed(2)
    lstm = nn.LSTM(5, 12, batch_first=batch_first, bias=bias).eval()
    sparse_(lstm, 0.3, 2)
    fused = FusedSparseLSTM(lstm)
    x = torch.randn(3, 4, 5)
    h0 = (torch.randn(1, 4 if not batch_first else 3, 12),) * 2
    h0 = (h0[0], torch.randn_like(h0[0]))
    saved = [t.clone() for t in h0]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            for args in ((x,), (x, h0), (x[0],), (x[:1],)):
                if len(args[0].shape) == 2:
                    args = (args[0],)
                got, want = fused(*args), lstm(*args)
                torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    finally:
        torch.set_num_threads(before)
    for a, b in zip(h0, saved):  # the state passed in is not changed in place
        assert torch.equal(a, b)


def test_fused_refuses_what_it_cannot_compute():
    with pytest.raises(ValueError, match="no compiled version"):
        FusedSparseStack([torch.ones(2, 2)] * 2, [None, None], None, 2, [[nn.Softmax(dim=-1)]])
    with pytest.raises(ValueError, match="one list per gap"):
        FusedSparseStack([torch.ones(2, 2)] * 2, [None, None], None, 2, [])
    with pytest.raises(ValueError, match="one-layer"):
        FusedSparseLSTM(nn.LSTM(2, 3, num_layers=2))
    net = nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=-1), nn.Linear(3, 2))
    sparse_(net, 0.5, 3)
    small = export(net.eval(), csr="fused")  # softmax ends the stack: two one-layer stacks
    assert [type(m).__name__ for m in small.module] == [
        "FusedSparseStack", "Softmax", "FusedSparseStack"
    ]  # fmt: skip
    x = torch.randn(4, 3)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)


def test_empty_inputs():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    sparse_(net, 0.5, 4)
    small = export(net, csr="fused")
    assert small(torch.zeros(0, 3)).shape == (0, 2)
    lstm = nn.LSTM(3, 4)
    sparse_(lstm, 0.5, 4)
    with pytest.raises(ValueError, match="at least one step"):
        FusedSparseLSTM(lstm)(torch.zeros(0, 2, 3))


_CACHE_CHECK = """
import numpy as np
from bsdl.pruning import _kernels_fused as kf, sparse_kernels as sk
serial, parallel = kf.mm_kernels()
crow = np.array([0, 1, 2], dtype=np.uint32)
col = np.array([0, 1], dtype=np.uint16)
val = np.ones(2, dtype=np.float32)
args = (crow, col, val, np.zeros(2, np.float32), np.ones(6, np.float32), 3)
serial(*args, np.empty(6, np.float32))  # compiled and written to the empty cache first
parallel(*args, np.empty(6, np.float32))
print(len(parallel.stats.cache_hits), len(parallel.stats.cache_misses))
names = [f.py_func.__qualname__ for pair in (kf.stack_kernels(), kf.mm_kernels(),
         *kf.lstm_kernels(), sk._numba_kernels()[1], sk._numba_kernels()[2]) for f in pair]
print(len(set(names)), len(names))
"""


def test_serial_and_parallel_kernels_do_not_share_numba_cache_entries(tmp_path):
    # numba's disk cache keys a kernel by module, name, line, bytecode and closure, not by
    # parallel=: with one name, the parallel kernel compiled after the serial one was a
    # cache hit, i.e. it ran the serial machine code (and the other way round)
    import os
    import subprocess
    import sys

    env = os.environ | {"NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", _CACHE_CHECK], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[:2] == ["0", "1"]  # compiled afresh, not loaded from the serial entry
    # every serial/parallel pair is named apart: 12 kernels listed (stack, mm, the LSTM's
    # loop and mm, the per-layer mv and mm), 8 distinct (the LSTM and per-layer mm are mm)
    assert int(out[2]) == 8 and int(out[3]) == 12


@pytest.mark.parametrize("batch", [1, 5])
def test_fused_lstm_float64_gates_are_exact_to_float64_tolerance(batch):
    torch.manual_seed(5)
    lstm = nn.LSTM(6, 10).double().eval()
    sparse_(lstm, 0.5, 5)
    fused = FusedSparseLSTM(lstm)
    x = 4 * torch.randn(7, batch, 6, dtype=torch.float64)  # gates well into their tails
    with torch.no_grad():
        torch.testing.assert_close(fused(x), lstm(x), rtol=1e-10, atol=1e-10)
