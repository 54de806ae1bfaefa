"""CPU kernels for ``x @ W.T`` with a CSR weight, one per storage format of ``PrunedLinear``.

``"csr"``
    ``torch`` sparse CSR (``torch.sparse.mm``); also on GPUs.
``"scipy"``
    ``scipy.sparse.csr_matrix`` (single-threaded SciPy kernels); CPU only.
``"mkl"``
    Intel MKL's sparse BLAS through ``sparse-dot-mkl`` (optional, ``pip install
    sparse-dot-mkl mkl``; the library ``libmkl_rt`` is looked up in the Python prefix when
    ``MKL_RT`` is not set); CPU only, threads follow ``torch.get_num_threads()``.
``"numba"``
    A compiled CSR kernel (optional, ``pip install numba``): serial with one torch
    thread, rows split across ``torch.get_num_threads()`` threads otherwise, 16-bit
    column indices when the layer has at most 65,536 inputs (6 bytes per kept weight
    instead of 8), unsigned row pointers (no negative-index checks in the inner loop),
    the batch as the inner loop. Compiled on first use (cached on disk).

:func:`available_formats` lists those that import on this machine; :func:`bsdl.pruning.export`
times each of them against the dense layer and keeps the fastest.
"""

from __future__ import annotations

import functools
import glob
import os
import sys

import numpy as np
import torch

__all__ = ["SPARSE_FORMATS", "available_formats", "build", "matmul"]

SPARSE_FORMATS = ("csr", "scipy", "mkl", "numba")


@functools.cache
def _mkl():
    if "MKL_RT" not in os.environ:
        found = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
        if found:
            os.environ["MKL_RT"] = found[0]
    try:
        import sparse_dot_mkl
    except (ImportError, OSError):
        return None
    return sparse_dot_mkl


@functools.cache
def _numba_kernels():
    try:
        import numba
    except ImportError:
        return None
    jit = dict(fastmath=True, cache=True, nogil=True)

    def mv(crow, col, val, x, out, zero):  # pragma: no cover - compiled
        for i in numba.prange(crow.shape[0] - 1):
            s = zero
            for j in range(crow[i], crow[i + 1]):
                s += val[j] * x[col[j]]
            out[i] = s

    # batch > 1: the fused kernels' CSR product (eight stored entries per row update)
    from bsdl.pruning._kernels_fused import compile_kernel, mm_kernels

    mm_serial, mm_parallel = mm_kernels()
    # one thread: the serial kernels (a parallel region costs more than it saves there)
    serial = compile_kernel(numba, mv, False, **jit), mm_serial
    parallel = compile_kernel(numba, mv, True, **jit), mm_parallel
    return numba, serial, parallel


def available_formats(device: torch.device | str = "cpu") -> tuple[str, ...]:
    """The sparse formats usable for a weight on ``device`` here (``"csr"`` always)."""
    if torch.device(device).type != "cpu":
        return ("csr",)
    out = ["csr", "scipy"]
    if _mkl() is not None:
        out.append("mkl")
    if _numba_kernels() is not None:
        out.append("numba")
    return tuple(out)


def build(fmt: str, crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape):
    """The object :func:`matmul` multiplies with, from CSR arrays (shared, not copied,
    where the library allows)."""
    if fmt == "csr":
        from bsdl.pruning.sparse_linear import csr_tensor

        return csr_tensor(crow, col, values, shape)
    if values.device.type != "cpu":
        raise ValueError(f"format {fmt!r} runs on the CPU only; the weight is on {values.device}")
    arrays = (crow.numpy(), col.numpy(), values.detach().numpy())
    if fmt in ("scipy", "mkl"):
        if fmt == "mkl" and _mkl() is None:
            raise ImportError("format 'mkl' needs sparse-dot-mkl: pip install sparse-dot-mkl mkl")
        import scipy.sparse as sp

        return sp.csr_matrix((arrays[2], arrays[1], arrays[0]), shape=tuple(shape), copy=False)
    if fmt == "numba":
        if _numba_kernels() is None:
            raise ImportError("format 'numba' needs numba: pip install numba")
        from bsdl.pruning._kernels_fused import index_dtype, pointer_dtype

        nnz = int(arrays[2].shape[0])
        crow = np.ascontiguousarray(arrays[0].astype(pointer_dtype(nnz)))
        col = np.ascontiguousarray(arrays[1].astype(index_dtype(int(shape[1]))))
        zeros = np.zeros(int(shape[0]), dtype=arrays[2].dtype)  # the batch kernel's bias
        return crow, col, arrays[2], zeros
    raise ValueError(f"format must be one of {SPARSE_FORMATS}, got {fmt!r}")


def matmul(fmt: str, handle, x: torch.Tensor) -> torch.Tensor:
    """``x @ W.T`` for ``x`` of shape ``(B, in)``; returns ``(B, out)`` (possibly a
    transposed view)."""
    if fmt == "csr":
        return torch.sparse.mm(handle, x.T).T
    xt = x.detach().T
    if fmt == "numba":
        return _numba_matmul(handle, xt.numpy())
    if not xt.is_contiguous():
        xt = xt.contiguous()
    xt_np = xt.numpy()
    if fmt == "scipy":
        return torch.from_numpy(np.asarray(handle @ xt_np)).T
    if fmt == "mkl":
        mkl = _mkl()
        mkl.mkl_set_num_threads_local(torch.get_num_threads())
        return torch.from_numpy(mkl.dot_product_mkl(handle, xt_np)).T
    raise ValueError(f"format must be one of {SPARSE_FORMATS}, got {fmt!r}")


def _numba_matmul(handle, xt: np.ndarray) -> torch.Tensor:
    """``(W @ xt).T`` by the compiled kernels; ``xt`` is ``(in, B)``, possibly a view."""
    from bsdl.pruning._batch_tiles import tile_columns, tiled_product
    from bsdl.pruning._kernels_fused import threads_for_numba

    _, serial, parallel = _numba_kernels()
    mv, mm = parallel if threads_for_numba() > 1 else serial
    crow, col, val, zeros = handle
    rows, n_b = zeros.shape[0], xt.shape[1]
    if n_b == 1:
        out = np.empty(rows, dtype=val.dtype)
        mv(crow, col, val, np.ascontiguousarray(xt[:, 0]), out, val.dtype.type(0))
        return torch.from_numpy(out)[None, :]
    out = np.empty((rows, n_b), dtype=val.dtype)  # a large batch in cache-sized tiles
    tile = tile_columns(xt.shape[0], val.dtype.itemsize)
    tiled_product(lambda x, w, o: mm(crow, col, val, zeros, x, w, o), xt, out, tile)
    return torch.from_numpy(out).T
