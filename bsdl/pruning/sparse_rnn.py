"""An LSTM layer for inference whose input and hidden weights are sparse.

:class:`PrunedLSTM` replaces a one-layer, unidirectional ``nn.LSTM`` without projection:
the input projection of every step is one sparse product over all ``T * B`` rows, then
each step multiplies the hidden state by the sparse hidden weight (a Python loop over the
steps, so it pays only when the hidden weight is large and sparse; :func:`bsdl.pruning.export`
times it against the fused dense ``nn.LSTM`` and keeps the faster).
"""

from __future__ import annotations

import torch
from torch import nn

from bsdl.pruning.sparse_linear import PrunedLinear

__all__ = ["PrunedLSTM", "sparse_lstm_supported"]


def sparse_lstm_supported(module: nn.Module) -> bool:
    """Whether ``module`` is an ``nn.LSTM`` that :class:`PrunedLSTM` can replace."""
    return (
        type(module) is nn.LSTM
        and module.num_layers == 1
        and not module.bidirectional
        and module.proj_size == 0
    )


class PrunedLSTM(nn.Module):
    """One LSTM layer with its two weights in a :class:`PrunedLinear` format.

    Called as ``nn.LSTM`` is: ``(input, (h0, c0))`` to ``(output, (h_n, c_n))``, batched
    or not, ``batch_first`` as in the module it replaces.

    Parameters
    ----------
    lstm : nn.LSTM
        One layer, unidirectional, no projection.
    format : str, default "csr"
        A format of :class:`~bsdl.pruning.sparse_linear.PrunedLinear`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> lstm = nn.LSTM(4, 8, batch_first=True)
    >>> with torch.no_grad():
    ...     _ = lstm.weight_hh_l0[:, ::2].zero_()
    >>> small = PrunedLSTM(lstm, "csr")
    >>> x = torch.randn(3, 5, 4)
    >>> with torch.no_grad():
    ...     bool(torch.allclose(small(x)[0], lstm(x)[0], atol=1e-6))
    True
    """

    def __init__(self, lstm: nn.LSTM, format: str = "csr") -> None:
        super().__init__()
        if not sparse_lstm_supported(lstm):
            raise ValueError("PrunedLSTM replaces a one-layer, unidirectional nn.LSTM only")
        w_ih, w_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()
        bias = None
        if lstm.bias:
            bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
        self.ih = PrunedLinear(w_ih, bias, None, lstm.input_size, format)
        self.hh = PrunedLinear(w_hh, None, None, lstm.hidden_size, format)
        self.input_size, self.hidden_size = lstm.input_size, lstm.hidden_size
        self.batch_first = lstm.batch_first
        self.format = format
        self.eval()

    def forward(self, input: torch.Tensor, hx=None):
        batched = input.dim() == 3
        x = input if batched else input.unsqueeze(1 if not self.batch_first else 0)
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B, _ = x.shape
        H = self.hidden_size
        gates_x = self.ih(x.reshape(T * B, -1)).reshape(T, B, 4 * H)
        if hx is None:
            h = x.new_zeros(B, H)
            c = x.new_zeros(B, H)
        else:
            h, c = (t.reshape(B, H) for t in hx)
        outs = []
        for t in range(T):
            g = gates_x[t] + self.hh(h)
            i, f, gg, o = g.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        out = torch.stack(outs)
        if self.batch_first:
            out = out.transpose(0, 1)
        h_n, c_n = h.unsqueeze(0), c.unsqueeze(0)
        if not batched:
            out = out.squeeze(0 if self.batch_first else 1)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return out, (h_n, c_n)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, format={self.format!r}"
