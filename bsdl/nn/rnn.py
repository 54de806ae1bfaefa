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

The network describes its structure through :class:`~bsdl.nn.structure.StructuredNetwork`.
A hidden unit is *live* when a path of surviving weights leads from it to the output:
directly through the read-out, through the recurrent weights of its own layer (to a live
unit at a later step) or through the next layer's input weights. An input (a lag) is
connected when a surviving first-layer weight links it to a live unit, or its skip weight
survives. Every structure read-out works per gate block through ``CELLS``.
"""

from __future__ import annotations

import torch
from torch import nn

from bsdl.nn.structure import Group, Masks, check_masks

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
    >>> masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in net.named_parameters()}
    >>> masks["input_layers.0.weight"][:, 1] = False          # cut lag 2 everywhere
    >>> net.connected_inputs(masks).tolist()
    [True, False, True]
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

    # ------------------------------------------------------------------ structure
    def _unit_links(self, mask: torch.Tensor) -> torch.Tensor:
        """``(gates*H, m)`` weight mask -> ``(H, m)``: does source ``j`` feed unit ``i``?"""
        return mask.reshape(CELLS[self.cell], self.hidden_size, -1).any(dim=0)

    def live_units(self, masks: Masks) -> list[torch.Tensor]:
        """Per layer, a boolean vector over hidden units: True when the unit reaches the
        output."""
        check_masks(self, masks)
        need = masks["head.weight"].reshape(-1).clone()
        live: list[torch.Tensor] = [need] * self.num_layers
        for l in reversed(range(self.num_layers)):
            rec = self._unit_links(masks[f"recurrent_layers.{l}.weight"])
            alive = need.clone()
            while True:  # closure over the recurrence: j is live if it feeds a live unit
                grown = alive | rec[alive].any(dim=0)
                if torch.equal(grown, alive):
                    break
                alive = grown
            live[l] = alive
            if l > 0:
                need = self._unit_links(masks[f"input_layers.{l}.weight"])[alive].any(dim=0)
        return live

    def connected_inputs(self, masks: Masks) -> torch.Tensor:
        """Boolean vector over the ``n_inputs`` features: True when one reaches the output
        (through a live unit of the first layer, or through the skip path)."""
        alive = self.live_units(masks)[0]
        keep = self._unit_links(masks["input_layers.0.weight"])[alive].any(dim=0)
        if self.skip is not None:  # linear path straight to the output
            keep = keep | masks["skip.weight"].reshape(-1)
        return keep

    def unit_weights(self, layer: int, units: torch.Tensor) -> Masks:
        """Masks of every weight into or out of ``units`` (bool over the hidden units) of
        ``layer``: their gate rows (input weights, biases, recurrent weights), the recurrent
        weights out of them and the next layer's (or the read-out's) weights from them."""
        out = {name: torch.zeros_like(p, dtype=torch.bool) for name, p in self.named_parameters()}
        units = units.to(out["head.weight"].device)
        rows = units.repeat(CELLS[self.cell])  # the gate rows of the units
        out[f"input_layers.{layer}.weight"][rows] = True
        out[f"input_layers.{layer}.bias"][rows] = True
        out[f"recurrent_layers.{layer}.weight"][rows] = True
        out[f"recurrent_layers.{layer}.weight"][:, units] = True
        if layer + 1 < self.num_layers:
            out[f"input_layers.{layer + 1}.weight"][:, units] = True
        else:
            out["head.weight"][:, units] = True
        return out

    def input_groups(self) -> list[Masks]:
        """Per input, its first-layer column and (with ``skip``) its skip weight."""
        groups = []
        for i in range(self.n_inputs):
            column = torch.zeros_like(self.input_layers[0].weight, dtype=torch.bool)
            column[:, i] = True
            g = {"input_layers.0.weight": column}
            if self.skip is not None:
                g["skip.weight"] = torch.zeros_like(self.skip.weight, dtype=torch.bool)
                g["skip.weight"][:, i] = True
            groups.append(g)
        return groups

    def prunable_groups(self) -> list[Group]:
        """Every hidden unit, layer by layer (:meth:`unit_weights`), labelled
        ``"unit l.j"``, then every input (:meth:`input_groups`), ``"input i"``.

        Examples
        --------
        >>> net = LagRNN(2, hidden_size=3, num_layers=2, cell="gru", skip=True)
        >>> [label for label, _ in net.prunable_groups()][-4:]
        ['unit 1.1', 'unit 1.2', 'input 0', 'input 1']
        """
        groups: list[Group] = []
        for layer in range(self.num_layers):
            for j in range(self.hidden_size):
                unit = torch.zeros(self.hidden_size, dtype=torch.bool)
                unit[j] = True
                cut = self.unit_weights(layer, unit)
                groups.append((f"unit {layer}.{j}", {k: m for k, m in cut.items() if m.any()}))
        groups += [(f"input {i}", g) for i, g in enumerate(self.input_groups())]
        return groups

    def memory_groups(self) -> list[Group]:
        """Groups whose removal takes memory away from the network: per layer and unit its
        recurrent weights (its gate rows and its column of the recurrent matrix),
        ``"recurrence l.j"``, then each layer's whole recurrent matrix, ``"recurrence l"``.

        With its recurrence removed an Elman unit is a function of the current lag vector
        only, so its selected lags are all it reads. An LSTM or GRU unit keeps a memory
        through its gates even then (a gate whose weights are all pruned is 1/2).

        Examples
        --------
        >>> [label for label, _ in LagRNN(2, hidden_size=2, cell="rnn").memory_groups()]
        ['recurrence 0.0', 'recurrence 0.1', 'recurrence 0']
        """
        groups: list[Group] = []
        for layer in range(self.num_layers):
            name = f"recurrent_layers.{layer}.weight"
            u = self.recurrent_layers[layer].weight
            rows = CELLS[self.cell]
            for j in range(self.hidden_size):
                m = torch.zeros_like(u, dtype=torch.bool)
                m[[b * self.hidden_size + j for b in range(rows)], :] = True
                m[:, j] = True
                groups.append((f"recurrence {layer}.{j}", {name: m}))
            groups.append((f"recurrence {layer}", {name: torch.ones_like(u, dtype=torch.bool)}))
        return groups

    @torch.no_grad()
    def simplify(self, masks: Masks) -> Masks:
        """Mask every weight into or out of a unit that cannot reach the output.

        The network function is unchanged (such units only feed other dead units), and the
        likelihood-flat directions they would add to the Fisher information are removed.
        Parameters are zeroed in place; the updated masks are returned (``masks`` is not
        modified).

        Examples
        --------
        >>> import torch
        >>> net = LagRNN(2, hidden_size=2, cell="rnn")
        >>> masks = {n: torch.ones_like(p, dtype=torch.bool) for n, p in net.named_parameters()}
        >>> masks["head.weight"][0, 1] = False
        >>> masks["recurrent_layers.0.weight"][:, 1] = False   # unit 1 feeds nothing live
        >>> net.simplify(masks)["input_layers.0.weight"].tolist()
        [[True, True], [False, False]]
        """
        masks = {k: v.clone() for k, v in masks.items()}
        for layer, alive in enumerate(self.live_units(masks)):
            if alive.all():
                continue
            for name, cut in self.unit_weights(layer, ~alive).items():
                masks[name] &= ~cut.to(masks[name].device)
        for name, p in self.named_parameters():
            p.mul_(masks[name])
        return masks
