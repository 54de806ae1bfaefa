"""Compiled (numba) forwards over a whole exported structure: one call per forward.

* :func:`stack_kernels` -- a stack ``Linear, act, Linear, ...`` with every weight in CSR
  (16-bit column indices when every layer has at most 65,536 inputs), the activations
  applied inside the loop, the layers' outputs in two scratch buffers: one compiled call
  instead of one kernel call, one tensor conversion and one bias add per layer.
* :func:`lstm_kernels` -- the time loop of one LSTM layer: the recurrent CSR product and
  the gates of every step inside one compiled loop (the input projection of all steps is
  computed before, as one product). The gates use a sigmoid in arithmetic only
  (``_sigmoid``, float64 inside), so that their loop over the batch is vector code.

Both return ``(serial, parallel)`` compiled functions (rows split across threads in the
parallel one), or None when numba does not import (it is optional: the bench extra).
``fastmath`` allows reassociation and contraction only (no assumption that values are
finite, so ``exp`` overflowing to ``inf`` still gives a saturated sigmoid).
"""

from __future__ import annotations

import functools
import math
import types

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "compile_kernel",
    "numba_available",
    "stack_kernels",
    "lstm_kernels",
    "mm_kernels",
]

# activation name -> (code inside the kernel, names of its two float parameters)
ACTIVATIONS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Identity": (0, ()),
    "Dropout": (0, ()),
    "ReLU": (1, ()),
    "LeakyReLU": (2, ("negative_slope",)),
    "ELU": (3, ("alpha",)),
    "GELU": (4, ()),  # code 5 when approximate="tanh"
    "SiLU": (6, ()),
    "Mish": (7, ()),
    "Tanh": (8, ()),
    "Sigmoid": (9, ()),
    "Softplus": (10, ("beta", "threshold")),
    "Hardtanh": (11, ("min_val", "max_val")),
}
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
#: every kernel's numba options. error_model="numpy": a division is not checked for zero
#: (it gives inf or nan, as IEEE arithmetic does, where numba's default raises), so a loop
#: with a division (the sigmoid) compiles to vector code
_JIT = dict(fastmath=_FASTMATH, cache=True, nogil=True, error_model="numpy")
_act_jit = None  # the compiled activation, set by the first call of stack_kernels()
_act_row_jit = None  # the compiled activation of one row, set by _helpers()
_axpy_jit = None  # the compiled row update, set by _helpers()
_sigmoid_jit = None  # the compiled gate sigmoid, set by _helpers()


@functools.cache
def _numba():
    try:
        import numba
    except ImportError:
        return None
    return numba


def numba_available() -> bool:
    """Whether numba imports here (the fused kernels need it)."""
    return _numba() is not None


def compile_kernel(numba, fn, parallel: bool, **jit):
    """``numba.njit(parallel=parallel, **jit)`` of a copy of ``fn`` named for its variant
    (``<name>_serial`` or ``<name>_parallel``), for kernels cached on disk (``cache=True``).

    numba's disk cache files a kernel under its module, qualified name and line, and keys
    the entries by signature, bytecode and closure, but not by ``parallel``: compiled
    from one source, the serial and the parallel kernel would load each other's cached
    machine code, and whichever ran first on a machine would be both. The names keep them
    apart.
    """
    variant = "parallel" if parallel else "serial"
    copy = types.FunctionType(
        fn.__code__, fn.__globals__, f"{fn.__name__}_{variant}", fn.__defaults__, fn.__closure__
    )
    copy.__qualname__ = f"{fn.__qualname__}_{variant}"
    copy.__module__ = fn.__module__
    return numba.njit(parallel=parallel, **jit)(copy)


def _act(code, p0, p1, v):  # pragma: no cover - compiled
    if code == 1:
        return v if v > 0 else v * 0
    if code == 2:
        return v if v > 0 else v * p0
    if code == 3:
        return v if v > 0 else p0 * (math.exp(v) - 1)
    if code == 4:
        return 0.5 * v * (1 + math.erf(v / math.sqrt(2.0)))
    if code == 5:
        return 0.5 * v * (1 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v * v * v)))
    if code == 6:
        return v / (1 + math.exp(-v))
    if code == 7:
        sp = v if v > 20 else math.log1p(math.exp(v))
        return v * math.tanh(sp)
    if code == 8:
        return math.tanh(v)
    if code == 9:
        return 1 / (1 + math.exp(-v))
    if code == 10:
        return v if v * p0 > p1 else math.log1p(math.exp(p0 * v)) / p0
    if code == 11:
        return min(max(v, p0), p1)
    return v


def _act_row(code, p0, p1, d):  # pragma: no cover - compiled
    # the activation over one output row (the batch), the branch on the activation taken
    # once per row: with the code a constant in each loop, the inlined _act folds to one
    # formula and the piecewise-linear ones compile to vector selects (one _act call per
    # element with the code a variable kept the branch inside the loop and the loop scalar)
    n_b = d.shape[0]
    if code == 0:
        return
    if code == 1:
        for b in range(n_b):
            d[b] = _act_jit(1, p0, p1, d[b])
    elif code == 2:
        for b in range(n_b):
            d[b] = _act_jit(2, p0, p1, d[b])
    elif code == 11:
        for b in range(n_b):
            d[b] = _act_jit(11, p0, p1, d[b])
    else:
        for b in range(n_b):
            d[b] = _act_jit(code, p0, p1, d[b])


def _axpy(j, end, col, val, src, d):  # pragma: no cover - compiled
    # d[:] += sum_{k in j..end-1} val[k] * src[col[k], :], eight stored entries at a time:
    # d (one output row over the batch) is loaded and stored once per eight entries instead
    # of once per entry (BENCHMARKS.md, "Sparse inference", has the effect at batch 64)
    n_b = d.shape[0]
    while j + 8 <= end:
        v0, v1, v2, v3 = val[j], val[j + 1], val[j + 2], val[j + 3]
        v4, v5, v6, v7 = val[j + 4], val[j + 5], val[j + 6], val[j + 7]
        x0, x1, x2, x3 = src[col[j]], src[col[j + 1]], src[col[j + 2]], src[col[j + 3]]
        x4, x5, x6, x7 = src[col[j + 4]], src[col[j + 5]], src[col[j + 6]], src[col[j + 7]]
        for b in range(n_b):
            d[b] += (v0 * x0[b] + v1 * x1[b] + v2 * x2[b] + v3 * x3[b]) + (
                v4 * x4[b] + v5 * x5[b] + v6 * x6[b] + v7 * x7[b]
            )
        j += 8
    while j < end:
        v = val[j]
        x = src[col[j]]
        for b in range(n_b):
            d[b] += v * x[b]
        j += 1


def _sigmoid(x):  # pragma: no cover - compiled
    # 1 / (1 + exp(-x)) in arithmetic only, so that a loop of it compiles to vector code
    # (numba has no vector exp without Intel's SVML): exp(y) = (exp(y / 128))^128, exp(y / 128)
    # by its Taylor polynomial of degree 11, |y| <= 40 (beyond, the sigmoid is 0 or 1 within
    # 5e-18); in float64, relative error below 4e-13 (remainder 2.5e-15, times 128 by the
    # seven squarings); tests/test_pruning_kernels.py checks it against the exact function
    y = min(max(-x, -40.0), 40.0) * 0.0078125
    p = 1.0 + y * (1.0 + y * (0.5 + y * (_C3 + y * (_C4 + y * (_C5 + y * (_C6 + y * (
        _C7 + y * (_C8 + y * (_C9 + y * (_C10 + y * _C11))))))))))  # fmt: skip
    p *= p
    p *= p
    p *= p
    p *= p
    p *= p
    p *= p
    p *= p
    return 1.0 / (1.0 + p)


# 1 / k! for the polynomial of _sigmoid
_C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11 = (1.0 / math.factorial(k) for k in range(3, 12))


def _helpers(numba) -> None:
    """Compile the inlined helpers once; globals, not closure variables, so that numba can
    cache the kernels that call them."""
    global _act_jit, _act_row_jit, _axpy_jit, _sigmoid_jit
    if _act_jit is None:
        _act_jit = numba.njit(inline="always", **_JIT)(_act)
        _sigmoid_jit = numba.njit(inline="always", **_JIT)(_sigmoid)
        _act_row_jit = numba.njit(inline="always", **_JIT)(_act_row)
        _axpy_jit = numba.njit(inline="always", **_JIT)(_axpy)


def _make_stack(numba, parallel: bool):
    _helpers(numba)

    def stack(
        x, n_b, crow, col, val, bias, meta, codes, params, buf_a, buf_b, out
    ):  # pragma: no cover
        # Flat arrays, entry (unit u, row b) at u * n_b + b. crow holds absolute offsets
        # into col/val (unsigned: no negative-index checks in the inner loop).
        # meta[l] = rows, offset of the layer's row pointers in crow, offset of its bias
        # (zeros stored for a layer without bias), first and last+1 activation after it.
        n_layers = meta.shape[0]
        src = x
        for layer in range(n_layers):
            rows, c0, b0, a0, a1 = (
                meta[layer, 0], meta[layer, 1], meta[layer, 2], meta[layer, 3], meta[layer, 4]
            )  # fmt: skip
            if layer == n_layers - 1:
                dst = out
            elif layer % 2 == 0:
                dst = buf_a
            else:
                dst = buf_b
            if n_b == 1:
                for i in numba.prange(rows):
                    s = bias[b0 + i]
                    for j in range(crow[c0 + i], crow[c0 + i + 1]):
                        s += val[j] * src[col[j]]
                    for a in range(a0, a1):
                        s = _act_jit(codes[a], params[a, 0], params[a, 1], s)
                    dst[i] = s
            else:  # the 2-D views made once per layer, not once per row
                s2 = src.reshape((-1, n_b))  # every buffer holds a multiple of n_b
                d2 = dst.reshape((-1, n_b))
                for i in numba.prange(rows):
                    d = d2[i]
                    for b in range(n_b):
                        d[b] = bias[b0 + i]
                    _axpy_jit(crow[c0 + i], crow[c0 + i + 1], col, val, s2, d)
                    for a in range(a0, a1):
                        _act_row_jit(codes[a], params[a, 0], params[a, 1], d)
            src = dst
        return 0

    return compile_kernel(numba, stack, parallel, **_JIT)


def _make_lstm(numba, parallel: bool):
    _helpers(numba)

    def lstm(gx, n_b, crow, col, val, h, c, out, g):  # pragma: no cover - compiled
        # gx (4H * T*B) flat, entry (gate row r, step t, sequence b) at r*T*B + t*B + b:
        # input projection plus both biases; h, c (H * B) flat, the state, updated in
        # place; out (T * B * H); g (4H * B) scratch. crow unsigned (see the stack).
        H = h.shape[0] // n_b
        T = out.shape[0] // (n_b * H)
        tb = T * n_b
        for t in range(T):
            base = t * n_b
            if n_b == 1:
                for r in numba.prange(4 * H):
                    s = gx[r * tb + base]
                    for j in range(crow[r], crow[r + 1]):
                        s += val[j] * h[col[j]]
                    g[r] = s
            else:  # the 2-D views made once per step, not once per row
                g2 = g.reshape((4 * H, n_b))
                h2 = h.reshape((H, n_b))
                for r in numba.prange(4 * H):
                    d = g2[r]
                    for b in range(n_b):
                        d[b] = gx[r * tb + base + b]
                    _axpy_jit(crow[r], crow[r + 1], col, val, h2, d)
            # the gates, unit by unit over the batch, on row views indexed from 0 (numba then
            # needs no negative-index fix-up, and the loop compiles to vector code; tanh(v)
            # = 2 sigmoid(2 v) - 1), then the new state copied into the step's output
            g2, c2, h2 = g.reshape((4 * H, n_b)), c.reshape((H, n_b)), h.reshape((H, n_b))
            for k in numba.prange(H):
                gi, gf, gc, go = g2[k], g2[H + k], g2[2 * H + k], g2[3 * H + k]
                ck, hk = c2[k], h2[k]
                for b in range(n_b):
                    cc = _sigmoid_jit(gf[b]) * ck[b] + _sigmoid_jit(gi[b]) * (
                        2 * _sigmoid_jit(2 * gc[b]) - 1
                    )
                    ck[b] = cc
                    hk[b] = _sigmoid_jit(go[b]) * (2 * _sigmoid_jit(2 * cc) - 1)
            for b in numba.prange(n_b):
                for k in range(H):
                    out[(t * n_b + b) * H + k] = h[k * n_b + b]
        return 0

    return compile_kernel(numba, lstm, parallel, **_JIT)


def _make_mm(numba, parallel: bool):
    _helpers(numba)

    def mm(crow, col, val, bias, xt, n_b, out):  # pragma: no cover - compiled
        # out[i * n_b + b] = bias[i] + sum_j val[j] * xt[col[j] * n_b + b]
        rows = crow.shape[0] - 1
        o2 = out.reshape((rows, n_b))
        x2 = xt.reshape((-1, n_b))
        for i in numba.prange(rows):
            d = o2[i]
            for b in range(n_b):
                d[b] = bias[i]
            _axpy_jit(crow[i], crow[i + 1], col, val, x2, d)
        return 0

    return compile_kernel(numba, mm, parallel, **_JIT)


@functools.cache
def stack_kernels():
    """``(serial, parallel)`` compiled stack forwards, or None without numba."""
    numba = _numba()
    if numba is None:
        return None
    return _make_stack(numba, False), _make_stack(numba, True)


@functools.cache
def mm_kernels():
    """``(serial, parallel)`` compiled ``mm(crow, col, val, bias, xt, n, out)``: ``out = W
    @ xt + bias[:, None]`` on flat arrays (``xt`` is ``(in, n)``, ``out`` ``(rows, n)``), or
    None without numba."""
    numba = _numba()
    if numba is None:
        return None
    return _make_mm(numba, False), _make_mm(numba, True)


@functools.cache
def lstm_kernels():
    """``((serial loop, serial mm), (parallel loop, parallel mm))``, or None without numba.

    ``mm(crow, col, val, bias, xt, n, out)`` is ``out = W @ xt + bias[:, None]`` on flat
    arrays (``xt`` is ``(in, n)``, ``out`` ``(rows, n)``; the input projection of all
    steps, ``n = T * B``)."""
    numba = _numba()
    if numba is None:
        return None
    serial, parallel = mm_kernels()
    return (_make_lstm(numba, False), serial), (_make_lstm(numba, True), parallel)


def threads_for_numba() -> int:
    """Torch's thread count, capped by numba's pool; sets numba's count when above one."""
    import torch

    numba = _numba()
    threads = min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)
    if threads > 1:
        numba.set_num_threads(threads)
    return threads


def index_dtype(width: int):
    """The smallest unsigned column-index type for rows of ``width`` entries."""
    return np.uint16 if width <= 65536 else np.uint32


def pointer_dtype(nnz: int):
    """The unsigned row-pointer type for ``nnz`` stored entries."""
    return np.uint32 if nnz < 2**32 else np.uint64
