"""The layer :func:`bsdl.pruning.export` puts in place of a pruned ``nn.Linear``.

:class:`PrunedLinear` computes ``y = x[..., input_index] @ W.T + b`` for inference, with
``W`` stored dense or in CSR (compressed sparse rows, 32-bit indices) multiplied by one of
the kernels of :mod:`bsdl.pruning.sparse_kernels` (its ``format``), and ``input_index``
the inputs that still reach an output (None when all do). Its tensors are buffers, not
parameters: an exported model is not trained further.
"""

from __future__ import annotations

import time
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from bsdl.pruning import sparse_kernels

__all__ = ["PrunedLinear", "FORMATS", "csr_nbytes", "csr_tensor", "time_call", "to_csr"]

FORMATS = ("dense", *sparse_kernels.SPARSE_FORMATS)


def csr_tensor(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape) -> torch.Tensor:
    """A CSR tensor from its arrays, with torch's invariant checks (indices in range)."""
    with warnings.catch_warnings():  # torch marks CSR as beta
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, tuple(shape), check_invariants=True)


def to_csr(weight: torch.Tensor) -> torch.Tensor:
    """``weight.to_sparse_csr()`` without torch's beta-feature warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return weight.to_sparse_csr()


def csr_nbytes(nnz: int, rows: int, value_size: int = 4) -> int:
    """Bytes of a CSR matrix with 32-bit indices: values, column indices, row pointers."""
    return nnz * (value_size + 4) + (rows + 1) * 4


def time_call(fn, min_seconds: float = 0.005, repeats: int = 3) -> float:
    """Best time per call of ``fn()`` over ``repeats`` rounds of at least ``min_seconds``."""
    fn()
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds or n >= 1 << 20:
            break
        n *= 2
    best = elapsed / n
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


class PrunedLinear(nn.Module):
    """An inference-only linear layer: selected inputs, a dense or CSR weight, a bias.

    Parameters
    ----------
    weight : Tensor
        ``(out_features, n_selected)`` dense weight (zeros allowed).
    bias : Tensor or None
        ``(out_features,)``.
    input_index : Tensor or None
        Long indices of the inputs the weight's columns read, in the layer's input of
        width ``in_features``; None when every input is read.
    in_features : int
        Width of the layer's input.
    format : {"dense", "csr", "scipy", "mkl", "numba"}, default "dense"
        How the weight is multiplied: dense, or stored in CSR and multiplied by torch's,
        SciPy's, MKL's or a compiled kernel (:mod:`bsdl.pruning.sparse_kernels`).

    Examples
    --------
    >>> import torch
    >>> w = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> layer = PrunedLinear(w, torch.ones(3), torch.tensor([0, 2]), in_features=3, format="csr")
    >>> layer(torch.tensor([[1.0, 5.0, 3.0]]))
    tensor([[2., 7., 1.]])
    >>> layer.nnz, layer.nbytes
    (2, 60)
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        input_index: torch.Tensor | None,
        in_features: int,
        format: str = "dense",
    ) -> None:
        super().__init__()
        if format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
        weight = weight.detach()
        self.in_features = int(in_features)
        self.out_features = int(weight.shape[0])
        self.format = format
        self._shape = tuple(weight.shape)
        self.register_buffer("bias", None if bias is None else bias.detach().clone())
        self.register_buffer("input_index", None if input_index is None else input_index.long())
        if format == "dense":
            self.register_buffer("weight", weight.clone())
            self.sparse = False
        else:
            csr = to_csr(weight)
            self.register_buffer("crow_indices", csr.crow_indices().to(torch.int32))
            self.register_buffer("col_indices", csr.col_indices().to(torch.int32))
            self.register_buffer("values", csr.values().clone())
            self.sparse = True
        self._matrix = None

    @property
    def nnz(self) -> int:
        """Stored non-zero weights."""
        if self.sparse:
            return int(self.values.numel())
        return int((self.weight != 0).sum())

    @property
    def nbytes(self) -> int:
        """Bytes of the stored tensors (weight or CSR arrays, bias, input index)."""
        return sum(b.numel() * b.element_size() for b in self.buffers())

    def dense_weight(self) -> torch.Tensor:
        """The weight as a dense ``(out_features, n_selected)`` tensor."""
        if self.format == "dense":
            return self.weight
        return self._csr_matrix().to_dense()

    def _csr_matrix(self) -> torch.Tensor:
        """The weight as a torch CSR tensor."""
        return csr_tensor(self.crow_indices, self.col_indices, self.values, self._shape)

    def _handle(self):
        if self._matrix is None:
            self._matrix = sparse_kernels.build(
                self.format, self.crow_indices, self.col_indices, self.values, self._shape
            )
        return self._matrix

    def _apply(self, fn, recurse=True):
        self._matrix = None  # rebuilt from the moved buffers on the next call
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_index is not None:
            x = x.index_select(-1, self.input_index)
        if self.format == "dense":
            return F.linear(x, self.weight, self.bias)
        lead = x.shape[:-1]
        rows = x.reshape(-1, x.shape[-1])
        out = sparse_kernels.matmul(self.format, self._handle(), rows)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        kept = self._shape[1]
        return (
            f"in_features={self.in_features} (reads {kept}), out_features={self.out_features}, "
            f"format={self.format!r}, nnz={self.nnz}, bias={self.bias is not None}"
        )
