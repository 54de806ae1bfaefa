"""A maskable recurrent network for lag-vector inputs (layer L1).

:class:`LagRNN` reads windows ``(batch, k, p)``: at each of the ``k`` steps the input is
a vector of ``p`` features (the last ``lags`` values of the series, and lags of any
exogenous regressors) and the network emits one output per step. Every weight is an
ordinary ``nn.Linear`` parameter, so the spike-and-slab machinery (flat buffers, masks
kept as ``<param>_mask`` buffers) and ``torch.func`` Jacobians apply unchanged; pruning a
column of the first input layer removes one lag.

The cells are written with plain tensor operations (no cuDNN kernel) so that
``vmap``/``jacrev`` can differentiate through them and masked weights stay exactly zero:

* ``"rnn"``:  ``h' = tanh(W x + U h + b)``
* ``"gru"``:  ``r, z = sigmoid(W_{r,z} x + U_{r,z} h + b)``,
  ``n = tanh(W_n x + b_n + r * (U_n h))``, ``h' = (1 - z) n + z h``
* ``"lstm"``: ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c' = f c + i g``,
  ``h' = o tanh(c')``

Recurrent matrices ``U`` carry no bias (the input layer's bias plays that role). The
read-out's bias ``head.bias`` is the level of the (standardised) series: it is listed in
``unpenalized``, so the spike-and-slab prior never shrinks or prunes it and its
uncertainty enters the delta-method intervals (see :mod:`bsdl.nn.penalty`).

With ``skip=True`` a linear map of the current input is added to the read-out: the
network is a linear autoregression plus a recurrent correction. A lag's linear weight
then feels the data gradient directly (not through gates and the read-out), which makes
linear lag effects much easier to select under the spike-and-slab prior.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LagRNN", "CELLS"]

#: number of gate blocks per cell type
CELLS = {"rnn": 1, "gru": 3, "lstm": 4}


class LagRNN(nn.Module):
    """Stacked RNN/GRU/LSTM with a linear read-out at every step.

    Parameters
    ----------
    n_inputs : int
        Features per step.
    hidden_size : int
        Units per recurrent layer.
    num_layers : int
        Stacked recurrent layers.
    cell : {"lstm", "gru", "rnn"}
    skip : bool
        Add a linear (bias-free) map of each step's input to its output.

    Examples
    --------
    >>> import torch
    >>> from bsdl.nn import LagRNN
    >>> net = LagRNN(n_inputs=3, hidden_size=4, cell="gru")
    >>> net(torch.zeros(5, 7, 3)).shape   # 5 windows of 7 steps -> one output per step
    torch.Size([5, 7])
    """

    #: parameters outside the prior: the level (intercept) of the read-out
    unpenalized = ("head.bias",)

    def __init__(
        self,
        n_inputs: int,
        hidden_size: int = 8,
        num_layers: int = 1,
        cell: str = "lstm",
        skip: bool = False,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.n_inputs = int(n_inputs)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.cell = cell
        g = CELLS[cell] * self.hidden_size
        self.input_layers = nn.ModuleList(
            nn.Linear(self.n_inputs if l == 0 else self.hidden_size, g)
            for l in range(self.num_layers)
        )
        self.recurrent_layers = nn.ModuleList(
            nn.Linear(self.hidden_size, g, bias=False) for _ in range(self.num_layers)
        )
        self.head = nn.Linear(self.hidden_size, 1)
        self.skip = nn.Linear(self.n_inputs, 1, bias=False) if skip else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(b, k, p)`` windows -> ``(b, k)`` one-step predictions."""
        seq = x
        for inp, rec in zip(self.input_layers, self.recurrent_layers):
            seq = self._layer(inp(seq), rec)
        out = self.head(seq).squeeze(-1)
        return out if self.skip is None else out + self.skip(x).squeeze(-1)

    def _layer(self, xin: torch.Tensor, rec: nn.Linear) -> torch.Tensor:
        h = xin.new_zeros(xin.shape[0], self.hidden_size)
        c = h
        outs = []
        for t in range(xin.shape[1]):
            xt = xin[:, t]
            if self.cell == "lstm":
                i, f, g, o = (xt + rec(h)).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            elif self.cell == "gru":
                xr, xz, xn = xt.chunk(3, dim=-1)
                hr, hz, hn = rec(h).chunk(3, dim=-1)
                r = torch.sigmoid(xr + hr)
                z = torch.sigmoid(xz + hz)
                h = (1 - z) * torch.tanh(xn + r * hn) + z * h
            else:
                h = torch.tanh(xt + rec(h))
            outs.append(h)
        return torch.stack(outs, dim=1)
