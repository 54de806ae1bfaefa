"""Exported structures computed by one compiled call: a whole Linear stack, an LSTM's time loop.

:class:`FusedSparseStack` replaces a stack ``Linear, act, Linear, ...`` of an exported
``nn.Sequential`` (the first Linear's position holds it, the others become
``nn.Identity`` so the Sequential keeps its indices); :class:`FusedSparseLSTM` replaces a
one-layer, unidirectional ``nn.LSTM``. Both keep every weight in CSR and run the numba
kernels of :mod:`bsdl.pruning._kernels_fused` (numba is optional: without it
:func:`fused_available` is False and :func:`bsdl.pruning.export` does not offer them).
:func:`~bsdl.pruning.export` times them against the per-layer formats and keeps the
fastest; their report rows have the format ``"fused"``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bsdl.pruning import _kernels_fused as kf
from bsdl.pruning._batch_tiles import tile_columns, tiled_product
from bsdl.pruning.sparse_linear import to_csr
from bsdl.pruning.sparse_rnn import sparse_lstm_supported

__all__ = ["FusedSparseStack", "FusedSparseLSTM", "fused_available", "stack_activations"]


def fused_available(device: torch.device | str = "cpu") -> bool:
    """Whether the fused modules run here (numba imports, the device is the CPU)."""
    return torch.device(device).type == "cpu" and kf.numba_available()


def stack_activations(acts: list[nn.Module]) -> list[tuple[int, float, float]] | None:
    """Kernel codes and parameters of elementwise modules, or None if one has no code."""
    out = []
    for act in acts:
        name = type(act).__name__
        if name not in kf.ACTIVATIONS or type(act) is not getattr(nn, name):
            return None
        code, names = kf.ACTIVATIONS[name]
        if name == "GELU" and act.approximate == "tanh":
            code = 5
        p = [float(getattr(act, a)) for a in names] + [0.0, 0.0]
        out.append((code, p[0], p[1]))
    return out


def _csr_arrays(weight: torch.Tensor):
    c = to_csr(weight.detach())
    return (
        c.crow_indices().to(torch.int32),
        c.col_indices().to(torch.int32),
        c.values().clone(),
    )


def _col_numpy(col: torch.Tensor, width: int) -> np.ndarray:
    return np.ascontiguousarray(col.numpy().astype(kf.index_dtype(width)))


def _ptr_numpy(crow: torch.Tensor, nnz: int) -> np.ndarray:
    return np.ascontiguousarray(crow.numpy().astype(kf.pointer_dtype(nnz)))


class FusedSparseStack(nn.Module):
    """A stack of Linear layers and elementwise activations in one compiled call.

    Parameters
    ----------
    weights : list of Tensor
        ``(out_l, in_l)`` dense weights (zeros are dropped), ``in_{l+1} = out_l``.
    biases : list of Tensor or None
    input_index : Tensor or None
        Inputs the first weight's columns read, of ``in_features`` (None: all of them).
    in_features : int
    activations : list of list of nn.Module
        The elementwise modules after each layer but the last (codes of
        :data:`bsdl.pruning._kernels_fused.ACTIVATIONS`).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).eval()
    >>> fused = FusedSparseStack(
    ...     [net[0].weight, net[2].weight], [net[0].bias, net[2].bias], None, 4, [[nn.Tanh()]]
    ... )
    >>> x = torch.randn(3, 4)
    >>> bool(torch.allclose(fused(x), net(x), atol=1e-5)) if fused_available() else True
    True
    """

    def __init__(self, weights, biases, input_index, in_features: int, activations) -> None:
        super().__init__()
        if len(activations) != len(weights) - 1:
            raise ValueError("activations must hold one list per gap between the layers")
        coded = [stack_activations(list(a)) for a in activations]
        if any(c is None for c in coded):
            raise ValueError("FusedSparseStack: an activation has no compiled version")
        dtype = weights[0].dtype
        crows, cols, vals, bs, meta, codes, params = [], [], [], [], [], [], []
        c_off = v_off = b_off = a_off = 0
        for k, w in enumerate(weights):
            crow, col, val = _csr_arrays(w)
            if k == 0 and input_index is not None:
                col = input_index.to(torch.int32)[col.long()]  # read the inputs directly
            rows = w.shape[0]
            b = biases[k]
            bs.append(torch.zeros(rows, dtype=dtype) if b is None else b.detach().to(dtype))
            acts = coded[k] if k < len(coded) else []
            meta.append([rows, c_off, b_off, a_off, a_off + len(acts)])
            codes += [a[0] for a in acts]
            params += [[a[1], a[2]] for a in acts]
            crows.append(crow.long() + v_off)  # absolute offsets into the values
            cols.append(col)
            vals.append(val)
            c_off += rows + 1
            v_off += int(val.numel())
            b_off += rows
            a_off += len(acts)
        self.in_features = int(in_features)
        self.out_features = int(weights[-1].shape[0])
        self.widths = [int(in_features)] + [int(w.shape[0]) for w in weights]
        self.has_bias = [b is not None for b in biases]
        self.register_buffer("crow_indices", torch.cat(crows))  # int64, absolute
        self.register_buffer("col_indices", torch.cat(cols))
        self.register_buffer("values", torch.cat(vals).to(dtype))
        self.register_buffer("bias", torch.cat(bs))
        self.register_buffer("meta", torch.tensor(meta, dtype=torch.int64).reshape(-1, 5))
        self.register_buffer("codes", torch.tensor(codes, dtype=torch.int64))
        self.register_buffer("params", torch.tensor(params, dtype=dtype).reshape(-1, 2))
        self.activations = [list(a) for a in activations]  # for saving (not submodules)
        self.format = "fused"
        self._np = None
        self.eval()

    def layers(self) -> tuple[list[torch.Tensor], list[torch.Tensor | None], list[list]]:
        """``(weights, biases, activations)``: dense weights (the first over all
        ``in_features`` inputs), biases (None for a layer without), activation modules."""
        from bsdl.pruning.sparse_linear import csr_tensor

        weights, biases = [], []
        for k, (rows, c0, b0, _, _) in enumerate(self.meta.tolist()):
            crow = self.crow_indices[c0 : c0 + rows + 1]
            lo, hi = int(crow[0]), int(crow[-1])
            shape = (rows, self.widths[k])
            w = csr_tensor((crow - lo).to(torch.int32), self.col_indices[lo:hi],
                           self.values[lo:hi], shape).to_dense()  # fmt: skip
            weights.append(w)
            biases.append(self.bias[b0 : b0 + rows].clone() if self.has_bias[k] else None)
        return weights, biases, self.activations

    @property
    def nnz(self) -> int:
        """Stored non-zero weights of all layers."""
        return int(self.values.numel())

    def _arrays(self):
        if self._np is None:
            width = max(self.widths)
            self._np = (
                _ptr_numpy(self.crow_indices, self.nnz),
                _col_numpy(self.col_indices, width),
                self.values.numpy(),
                self.bias.numpy(),
                self.meta.numpy(),
                self.codes.numpy(),
                self.params.numpy(),
                max(self.widths[1:-1], default=1),
            )
        return self._np

    def _apply(self, fn, recurse=True):
        self._np = None
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        crow, col, val, bias, meta, codes, params, hidden = self._arrays()
        lead = x.shape[:-1]
        rows = x.detach().reshape(-1, x.shape[-1]).to(self.values.dtype)
        n_b = rows.shape[0]
        if n_b == 0:
            return rows.new_zeros(*lead, self.out_features)
        serial, parallel = kf.stack_kernels()
        kernel = parallel if kf.threads_for_numba() > 1 else serial
        # a large batch in cache-sized tiles of columns (bsdl.pruning._batch_tiles)
        tile = min(n_b, tile_columns(max(self.widths), val.dtype.itemsize))
        buf_a = np.empty(hidden * tile, dtype=val.dtype)
        buf_b = np.empty(hidden * tile, dtype=val.dtype)

        def run(x, w, o):
            a, b = buf_a[: hidden * w], buf_b[: hidden * w]
            kernel(x, w, crow, col, val, bias, meta, codes, params, a, b, o)

        out = np.empty((self.out_features, n_b), dtype=val.dtype)
        tiled_product(run, rows.T.numpy(), out, tile)  # (in, B) -> (out, B)
        return torch.from_numpy(out).T.reshape(*lead, self.out_features)

    def extra_repr(self) -> str:
        return f"widths={self.widths}, nnz={self.nnz}, format='fused'"


class FusedSparseLSTM(nn.Module):
    """One LSTM layer, both weights in CSR, its time loop in one compiled call.

    Called as ``nn.LSTM`` is: ``(input, (h0, c0))`` to ``(output, (h_n, c_n))``, batched
    or not, ``batch_first`` as in the module it replaces. The input projection of all
    steps is one CSR product; then each step's recurrent CSR product and gates run inside
    the compiled loop.

    Parameters
    ----------
    lstm : nn.LSTM
        One layer, unidirectional, no projection.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> lstm = nn.LSTM(4, 8, batch_first=True)
    >>> with torch.no_grad():
    ...     _ = lstm.weight_hh_l0[:, ::2].zero_()
    >>> x = torch.randn(3, 5, 4)
    >>> if fused_available():
    ...     with torch.no_grad():
    ...         ok = bool(torch.allclose(FusedSparseLSTM(lstm)(x)[0], lstm(x)[0], atol=1e-5))
    ... else:
    ...     ok = True
    >>> ok
    True
    """

    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__()
        if not sparse_lstm_supported(lstm):
            raise ValueError("FusedSparseLSTM replaces a one-layer, unidirectional nn.LSTM only")
        w_ih, w_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()
        H = lstm.hidden_size
        bias = torch.zeros(4 * H, dtype=w_ih.dtype)
        if lstm.bias:
            bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().clone()
        self._init(w_ih, w_hh, bias, lstm.input_size, H, lstm.batch_first, bool(lstm.bias))

    def _init(self, w_ih, w_hh, bias, input_size, hidden_size, batch_first, has_bias):
        for name, w in (("ih", w_ih), ("hh", w_hh)):
            crow, col, val = _csr_arrays(w)
            self.register_buffer(f"{name}_crow_indices", crow)
            self.register_buffer(f"{name}_col_indices", col)
            self.register_buffer(f"{name}_values", val)
        self.register_buffer("bias", bias.detach().clone())
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.batch_first = bool(batch_first)
        self.has_bias = bool(has_bias)
        self.format = "fused"
        self._np = None
        self.eval()

    @classmethod
    def from_arrays(cls, w_ih, w_hh, bias, input_size, hidden_size, batch_first, has_bias):
        """Built from dense weights and the summed bias (as loading a file does)."""
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._init(w_ih, w_hh, bias, input_size, hidden_size, batch_first, has_bias)
        return self

    @property
    def nnz(self) -> int:
        """Stored non-zero weights of both matrices."""
        return int(self.ih_values.numel() + self.hh_values.numel())

    def dense_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weight_ih, weight_hh)`` as dense tensors."""
        from bsdl.pruning.sparse_linear import csr_tensor

        H = self.hidden_size
        shapes = {"ih": (4 * H, self.input_size), "hh": (4 * H, H)}
        return tuple(
            csr_tensor(
                getattr(self, f"{n}_crow_indices"),
                getattr(self, f"{n}_col_indices"),
                getattr(self, f"{n}_values"),
                shapes[n],
            ).to_dense()
            for n in ("ih", "hh")
        )

    def _arrays(self):
        if self._np is None:
            self._np = (
                _ptr_numpy(self.ih_crow_indices, self.ih_values.numel()),
                _col_numpy(self.ih_col_indices, self.input_size),
                self.ih_values.numpy(),
                _ptr_numpy(self.hh_crow_indices, self.hh_values.numel()),
                _col_numpy(self.hh_col_indices, self.hidden_size),
                self.hh_values.numpy(),
                self.bias.numpy(),
            )
        return self._np

    def _apply(self, fn, recurse=True):
        self._np = None
        return super()._apply(fn, recurse)

    def forward(self, input: torch.Tensor, hx=None):
        ic, ii, iv, hc, hi, hv, bias = self._arrays()
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1 if not self.batch_first else 0)
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B, _ = x.shape
        H = self.hidden_size
        dtype = iv.dtype
        if T * B == 0:
            raise ValueError(f"input must hold at least one step of one sequence, got {T} x {B}")
        xt = x.detach().reshape(T * B, -1).to(self.ih_values.dtype).T.numpy()  # (in, T*B)
        if hx is None:
            h = np.zeros(H * B, dtype=dtype)
            c = np.zeros(H * B, dtype=dtype)
        else:  # (H, B) flat copies: the kernel updates the state in place
            h, c = (
                np.array(
                    t.detach().reshape(B, H).to(self.ih_values.dtype).T.numpy(), order="C"
                ).reshape(-1)
                for t in hx
            )
        (loop_s, mm_s), (loop_p, mm_p) = kf.lstm_kernels()
        loop, mm = (loop_p, mm_p) if kf.threads_for_numba() > 1 else (loop_s, mm_s)
        gx = np.empty((4 * H, T * B), dtype=dtype)  # the input projection of all steps,
        tile = tile_columns(self.input_size, dtype.itemsize)  # in cache-sized tiles
        tiled_product(lambda x, w, o: mm(ic, ii, iv, bias, x, w, o), xt, gx, tile)
        gx = gx.reshape(-1)
        out = np.empty((T, B, H), dtype=dtype)
        loop(gx, B, hc, hi, hv, h, c, out.reshape(-1), np.empty(4 * H * B, dtype=dtype))
        h, c = h.reshape(H, B), c.reshape(H, B)
        out_t = torch.from_numpy(out)
        if self.batch_first:
            out_t = out_t.transpose(0, 1)
        h_n = torch.from_numpy(np.ascontiguousarray(h.T))[None]
        c_n = torch.from_numpy(np.ascontiguousarray(c.T))[None]
        if not batched:
            out_t = out_t.squeeze(0 if self.batch_first else 1)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return out_t, (h_n, c_n)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, format='fused', nnz={self.nnz}"
