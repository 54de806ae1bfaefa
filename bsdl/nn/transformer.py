"""A maskable causal transformer encoder for lag-vector inputs (layer L1).

:class:`LagTransformer` reads windows ``(batch, k, p)`` like :class:`~bsdl.nn.LagRNN`: at
each of the ``k`` steps the input is the vector of the last ``lags`` values of the series
(and lags of any regressors), and the network emits one output per step. Every weight is
a plain ``nn.Linear`` parameter, so masks (``<param>_mask`` buffers), flat buffers and
``torch.func`` Jacobians apply unchanged; pruning a column of the input projection
``in_proj`` removes one lag.

The layers, on a residual stream of width ``d_model``::

    h = in_proj(x_t)                                 # no bias, no position code
    for each layer but the last:
        h = h + o(attention(q(a), k(a), v(a)))       # a = h, or LayerNorm(h) (norm=True)
        h = h + ff2(gelu(ff1(a)))                    # a as above, on the updated h
    last layer:
        h = h + o(attention(q(a), k(a), v(a)))
        y_t = head(h_t) + ff2(gelu(ff1(a_t))) + skip(x_t)

The attention is written out with explicit ``q``/``k``/``v``/``o`` projections, ``n_heads``
heads of ``d_model // n_heads`` dimensions each, and a causal mask: the output at step
``t`` sees steps ``<= t`` only. The causal mask is required: the lag vector of step
``t + 1`` holds the value that step ``t`` predicts, and the recursive forecast feeds each
prediction back as the next step's input.

Design choices, all for the spike-and-slab fit and the delta method (which needs the
Fisher information of the selected weights, so directions the function does not depend on
are avoided where the architecture allows):

* **The last feed-forward block writes the output.** In a standard encoder the last
  block's ``ff2`` (``d_model x dim_feedforward``) is read only through the linear read-out,
  so only ``head . ff2`` matters; here the last ``ff2`` is that ``1 x dim_feedforward``
  product. The function class is the same, without ``d_model - 1`` flat directions per
  unit.
* **Biases only where they are identifiable.** A bias on ``k`` is constant over the keys
  and cancels in the softmax; a bias on ``v`` passes through the attention weights (they
  sum to one) and repeats one on ``o``; biases on ``o``, ``ff2`` and ``in_proj`` repeat
  the level or the biases of ``q`` and ``ff1``. Only ``q``, ``ff1`` and ``head`` have
  biases.
* **The level outside the prior.** ``head.bias`` is listed in ``unpenalized`` (see
  :mod:`bsdl.nn.penalty`); every other weight is under the prior.
* **No position codes.** Each step's lag vector already orders the values it holds and the
  causal mask gives each step its own prefix. A position code would be read by the linear
  read-out as an offset per step of the window (the forecast only ever uses the last step),
  and the low-frequency sinusoids are nearly constant over a short window, copies of the
  level: flat directions of the Fisher information.
* **Layer norm optional, without parameters** (``norm=False`` by default). Pre-norm
  ``layer_norm`` without elementwise affine has nothing to prune (the projections after it
  absorb a scale and shift), but it mixes every stream dimension: with ``norm=True`` a
  live sub-layer reads all of them, so pruning the stream is coarser. The series is
  standardised and the network shallow, so the default leaves it out. GELU keeps the
  network function smooth (the delta method differentiates it).
* **Skip path.** With ``skip=True`` a bias-free linear map of the lag vector is added to
  the output, as in :class:`~bsdl.nn.LagRNN`; the estimator starts it (and the level) at
  least squares.

Exact symmetries remain: a ``q`` row (and its bias) times ``c`` with its ``k`` row divided
by ``c``, a ``v`` row times ``c`` with its ``o`` column divided by ``c``, an invertible map
``A`` of the residual stream (``in_proj`` and every write into the stream times ``A``,
every read of it times ``A^-1``; without the layer norm), each restricted to the maps that
keep pruned weights at zero. The function is invariant along them, and along writes into
the stream that the layers reading it cannot tell apart, so its Jacobian is orthogonal to
them and the pseudo-inverse of the Fisher information gives the delta-method variance
unchanged; :meth:`LagTransformer.null_dimension` counts all such directions of a pruned
network.

Structure (:class:`~bsdl.nn.structure.StructuredNetwork`): a stream dimension is *live*
when the output depends on it: the read-out reads it, or a live head or feed-forward unit
reads it (with ``norm=True``: any live sub-layer reads every dimension). A feed-forward
unit is live when it reads the stream and writes a live dimension (in the last layer: its
``ff2`` weight survives); a value row when it reads the stream and writes, through ``o``,
a live dimension; a head when one of its value rows is live; a score row (a ``q`` row
with its ``k`` row) of a live head when both sides survive. An input is connected when
its ``in_proj`` column reaches a live dimension, or its skip weight survives.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from bsdl.nn._transformer_folds import (
    fold_constant_units,
    jacobian_null_dimension,
    merge_readout_dims,
)
from bsdl.nn.structure import Group, Masks, check_masks

__all__ = ["LagTransformer"]


def _check_size(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class _Block(nn.Module):
    """One encoder layer: causal multi-head attention, then a GELU feed-forward block
    (``out_features`` of ``ff2``: ``d_model``, or 1 in the last layer)."""

    def __init__(self, d_model: int, dim_feedforward: int, out_features: int) -> None:
        super().__init__()
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model, bias=False)
        self.v = nn.Linear(d_model, d_model, bias=False)
        self.o = nn.Linear(d_model, d_model, bias=False)
        self.ff1 = nn.Linear(d_model, dim_feedforward)
        self.ff2 = nn.Linear(dim_feedforward, out_features, bias=False)


class LagTransformer(nn.Module):
    """Causal transformer encoder over a window of lag vectors, one output per step.

    Parameters
    ----------
    n_inputs : int
        Features per step (the lag vector).
    d_model : int
        Width of the residual stream.
    n_heads : int
        Attention heads per layer; must divide ``d_model``.
    num_layers : int
        Encoder layers (attention and feed-forward each).
    dim_feedforward : int
        Hidden units of each feed-forward block.
    skip : bool
        Add a linear (bias-free) map of each step's input to its output.
    norm : bool
        Pre-norm layer norm without parameters before each sub-layer (needs
        ``d_model >= 2``).

    Examples
    --------
    >>> import torch
    >>> from bsdl.nn import LagTransformer
    >>> net = LagTransformer(n_inputs=3, d_model=4, n_heads=2)
    >>> net(torch.zeros(5, 7, 3)).shape   # 5 windows of 7 steps -> one output per step
    torch.Size([5, 7])
    >>> masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in net.named_parameters()}
    >>> masks["in_proj.weight"][:, 1] = False          # cut lag 2 everywhere
    >>> net.connected_inputs(masks).tolist()
    [True, False, True]
    >>> LagTransformer(3, d_model=6, n_heads=4)
    Traceback (most recent call last):
    ...
    ValueError: d_model must be a multiple of n_heads (each head has d_model // n_heads \
dimensions), got d_model=6 and n_heads=4
    """

    #: parameters outside the prior: the level (intercept) of the read-out
    unpenalized = ("head.bias",)

    def __init__(
        self,
        n_inputs: int,
        d_model: int = 8,
        n_heads: int = 2,
        num_layers: int = 1,
        dim_feedforward: int = 16,
        skip: bool = False,
        norm: bool = False,
    ) -> None:
        super().__init__()
        self.n_inputs = _check_size(n_inputs, "n_inputs")
        self.d_model = _check_size(d_model, "d_model")
        self.n_heads = _check_size(n_heads, "n_heads")
        self.num_layers = _check_size(num_layers, "num_layers")
        self.dim_feedforward = _check_size(dim_feedforward, "dim_feedforward")
        if self.d_model % self.n_heads:
            raise ValueError(
                "d_model must be a multiple of n_heads (each head has d_model // n_heads "
                f"dimensions), got d_model={self.d_model} and n_heads={self.n_heads}"
            )
        for name, flag in (("skip", skip), ("norm", norm)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        if norm and self.d_model < 2:
            raise ValueError("norm=True needs d_model >= 2 (a layer norm of one value is 0)")
        self.head_dim = self.d_model // self.n_heads
        self.norm = norm
        last = self.num_layers - 1
        self.in_proj = nn.Linear(self.n_inputs, self.d_model, bias=False)
        self.layers = nn.ModuleList(
            _Block(self.d_model, self.dim_feedforward, 1 if l == last else self.d_model)
            for l in range(self.num_layers)
        )
        self.head = nn.Linear(self.d_model, 1)
        self.skip = nn.Linear(self.n_inputs, 1, bias=False) if skip else None
        self._constants: dict = {}

    # ------------------------------------------------------------------ forward
    def _causal_mask(self, steps: int, like: torch.Tensor) -> torch.Tensor:
        key = (steps, like.device)
        if key not in self._constants:  # True above the diagonal: a later step
            self._constants[key] = torch.ones(
                steps, steps, dtype=torch.bool, device=like.device
            ).triu(1)
        return self._constants[key]

    def _normed(self, h: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(h, (self.d_model,)) if self.norm else h

    def _attention(self, block: _Block, a: torch.Tensor, future: torch.Tensor) -> torch.Tensor:
        b, k, _ = a.shape
        shape = (b, k, self.n_heads, self.head_dim)
        q = block.q(a).reshape(shape).transpose(1, 2)  # (b, H, k, dh)
        key = block.k(a).reshape(shape).transpose(1, 2)
        v = block.v(a).reshape(shape).transpose(1, 2)
        scores = q @ key.transpose(-1, -2) / math.sqrt(self.head_dim)  # (b, H, k, k)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        return block.o((weights @ v).transpose(1, 2).reshape(b, k, self.d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(b, k, p)`` windows -> ``(b, k)`` one-step predictions."""
        future = self._causal_mask(x.shape[1], x)
        h = self.in_proj(x)
        last = self.num_layers - 1
        for l, block in enumerate(self.layers):
            h = h + self._attention(block, self._normed(h), future)
            ff = block.ff2(F.gelu(block.ff1(self._normed(h))))
            if l < last:
                h = h + ff
        out = self.head(h).squeeze(-1) + ff.squeeze(-1)  # the last block writes the output
        return out if self.skip is None else out + self.skip(x).squeeze(-1)

    # ------------------------------------------------------------------ structure
    def _head_rows(self, head: int) -> torch.Tensor:
        rows = torch.zeros(self.d_model, dtype=torch.bool)
        rows[head * self.head_dim : (head + 1) * self.head_dim] = True
        return rows

    def _reads(self, cols: torch.Tensor) -> torch.Tensor:
        """Stream dimensions a sub-layer depends on, given the columns it reads: with the
        layer norm every dimension as soon as one column is read."""
        if self.norm and bool(cols.any()):
            return torch.ones_like(cols)
        return cols

    def _signal(self, m: Masks) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer, the stream dimensions that are not identically zero before the
        attention and after it (a dimension no surviving weight writes is zero)."""
        sig, out = m["in_proj.weight"].any(dim=1), []
        for l in range(self.num_layers):
            p = f"layers.{l}."
            a = self._reads(sig)
            mid = sig | m[p + "o.weight"][:, (m[p + "v.weight"] & a).any(dim=1)].any(dim=1)
            units = (m[p + "ff1.weight"] & self._reads(mid)).any(dim=1) | m[p + "ff1.bias"]
            out.append((sig, mid))
            if l < self.num_layers - 1:
                sig = mid | m[p + "ff2.weight"][:, units].any(dim=1)
        return out

    def liveness(self, masks: Masks) -> dict:
        """What reaches the output, layer by layer (bool tensors on the CPU).

        Returns a dict with ``"dims"`` (``(d_model,)``: stream dimensions at the bottom
        that reach the output), ``"read"`` (those a live sub-layer reads; the others reach
        the output only through ``head``), ``"final"`` (non-zero dimensions the read-out
        sees) and ``"layers"``: per layer ``"in"`` and ``"cols"`` (non-zero dimensions
        the attention and the feed-forward block read), ``"mid"`` and ``"out"`` (live
        dimensions after the attention and after the layer; ``"out"`` is ``[True]`` in
        the last layer, whose ``ff2`` writes the output), ``"value"`` (live value rows),
        ``"heads"``, ``"score"`` (live score rows), ``"ff"`` (live feed-forward units that
        read the stream) and ``"ff_const"`` (units that write a live dimension but read
        nothing: a constant ``gelu(bias)``).
        """
        check_masks(self, masks)
        m = {k: v.detach().cpu() for k, v in masks.items()}
        signal = self._signal(m)
        final = signal[-1][1]
        need = m["head.weight"].reshape(-1) & final
        read = torch.zeros(self.d_model, dtype=torch.bool)
        layers: list[dict] = [{} for _ in range(self.num_layers)]
        for l in reversed(range(self.num_layers)):
            p, info = f"layers.{l}.", layers[l]
            a, a2 = self._reads(signal[l][0]), self._reads(signal[l][1])
            w1, b1, w2 = m[p + "ff1.weight"], m[p + "ff1.bias"], m[p + "ff2.weight"]
            info["out"] = torch.ones(1, dtype=torch.bool) if l == self.num_layers - 1 else need
            writes = w2[info["out"]].any(dim=0)
            w1 = w1 & a2  # reading a zero dimension is reading nothing
            reads = w1.any(dim=1)
            info.update(in_=a, cols=a2, ff=writes & reads, ff_const=writes & ~reads & b1)
            ff_reads = self._reads(w1[info["ff"]].any(dim=0))
            need = need | ff_reads
            info["mid"] = need
            wq, bq, wk = m[p + "q.weight"] & a, m[p + "q.bias"], m[p + "k.weight"] & a
            wv, wo = m[p + "v.weight"] & a, m[p + "o.weight"]
            value = wo[need].any(dim=0) & wv.any(dim=1)
            heads = value.reshape(self.n_heads, self.head_dim).any(dim=1)
            score = heads.repeat_interleave(self.head_dim) & wk.any(dim=1) & (wq.any(dim=1) | bq)
            attn_reads = self._reads(
                wv[value].any(dim=0) | wq[score].any(dim=0) | wk[score].any(dim=0)
            )
            info.update(value=value, heads=heads, score=score)
            need = need | attn_reads
            read = read | ff_reads | attn_reads
        for info in layers:
            info["in"] = info.pop("in_")
        return {"dims": need, "read": read, "final": final, "layers": layers}

    def connected_inputs(self, masks: Masks) -> torch.Tensor:
        """Boolean vector over the ``n_inputs`` features: True when one reaches the output
        (through a live stream dimension, or through the skip path)."""
        live = self.liveness(masks)["dims"].to(masks["in_proj.weight"].device)
        keep = masks["in_proj.weight"][live].any(dim=0)
        if self.skip is not None:
            keep = keep | masks["skip.weight"].reshape(-1)
        return keep

    def input_groups(self) -> list[Masks]:
        """Per input, its ``in_proj`` column and (with ``skip``) its skip weight."""
        groups = []
        for i in range(self.n_inputs):
            column = torch.zeros_like(self.in_proj.weight, dtype=torch.bool)
            column[:, i] = True
            g = {"in_proj.weight": column}
            if self.skip is not None:
                g["skip.weight"] = torch.zeros_like(self.skip.weight, dtype=torch.bool)
                g["skip.weight"][:, i] = True
            groups.append(g)
        return groups

    def _empty(self) -> Masks:
        return {n: torch.zeros_like(p, dtype=torch.bool) for n, p in self.named_parameters()}

    def head_weights(self, layer: int, head: int) -> Masks:
        """Masks of every weight of one attention head: its ``q`` rows and biases, its
        ``k`` and ``v`` rows and its ``o`` columns."""
        out = self._empty()
        rows = self._head_rows(head).to(out["head.weight"].device)
        p = f"layers.{layer}."
        for name in ("q.weight", "q.bias", "k.weight", "v.weight"):
            out[p + name][rows] = True
        out[p + "o.weight"][:, rows] = True
        return out

    def unit_weights(self, layer: int, units: torch.Tensor) -> Masks:
        """Masks of every weight into or out of the feed-forward ``units`` (bool over
        ``dim_feedforward``) of ``layer``: ``ff1`` rows and biases, ``ff2`` columns."""
        out = self._empty()
        units = units.to(out["head.weight"].device)
        p = f"layers.{layer}."
        out[p + "ff1.weight"][units] = True
        out[p + "ff1.bias"][units] = True
        out[p + "ff2.weight"][:, units] = True
        return out

    def prunable_groups(self) -> list[Group]:
        """Per layer every attention head (``"head l.h"``, :meth:`head_weights`) and every
        feed-forward unit (``"unit l.u"``, :meth:`unit_weights`), then every input
        (``"input i"``, :meth:`input_groups`).

        Examples
        --------
        >>> net = LagTransformer(2, d_model=4, n_heads=2, dim_feedforward=2, skip=True)
        >>> [label for label, _ in net.prunable_groups()]
        ['head 0.0', 'head 0.1', 'unit 0.0', 'unit 0.1', 'input 0', 'input 1']
        """
        groups: list[Group] = []
        for layer in range(self.num_layers):
            for h in range(self.n_heads):
                cut = self.head_weights(layer, h)
                groups.append((f"head {layer}.{h}", {k: m for k, m in cut.items() if m.any()}))
            for u in range(self.dim_feedforward):
                unit = torch.arange(self.dim_feedforward) == u
                cut = self.unit_weights(layer, unit)
                groups.append((f"unit {layer}.{u}", {k: m for k, m in cut.items() if m.any()}))
        groups += [(f"input {i}", g) for i, g in enumerate(self.input_groups())]
        return groups

    def null_dimension(self, masks: Masks, steps: int, seed: int = 0) -> int:
        """Null directions of the Fisher information that the structure alone implies.

        The rank deficiency of the Jacobian of the outputs in the surviving weights (those
        of ``masks``), at random weights with this mask pattern and random windows of
        ``steps`` steps, in float64: the dimension of the directions along which the
        network function does not change for generic weights (the attention's rescaling
        symmetries, writes into the stream that its readers cannot tell apart). A fitted
        network whose information has a larger null space is singular for another reason
        (its weights or its data).

        Examples
        --------
        >>> import torch
        >>> net = LagTransformer(2, d_model=2, n_heads=1, dim_feedforward=2)
        >>> masks = {n: torch.ones_like(p, dtype=torch.bool) for n, p in net.named_parameters()}
        >>> net.null_dimension(masks, steps=4)   # GL(2) on q/k rows, on v/o, on the stream
        12
        """
        check_masks(self, masks)
        net = LagTransformer(
            self.n_inputs, self.d_model, self.n_heads, self.num_layers,
            self.dim_feedforward, self.skip is not None, self.norm,
        )  # fmt: skip
        return jacobian_null_dimension(net, masks, steps, seed)

    @torch.no_grad()
    def simplify(self, masks: Masks) -> Masks:
        """Remove what cannot reach the output and fold what is constant or linear.

        * Dead heads, value rows, score rows (a ``q`` row whose ``k`` row is pruned, or the
          reverse), feed-forward units and stream dimensions lose every weight.
        * Weights that read a stream dimension no surviving weight writes (it is zero).
        * A feed-forward unit that reads nothing adds a constant: in the last layer it is
          folded into ``head.bias``; in an earlier one (without the layer norm) into the
          biases of the later ``q`` and ``ff1`` and into ``head.bias``.
        * Stream dimensions that only the read-out reads enter the output through one
          weighted sum: with ``skip``, their ``in_proj`` rows (a linear effect of the lags)
          are folded into the skip weights, which are then kept; the other writes into
          them (``o`` rows, ``ff2`` rows, ``in_proj`` rows without ``skip``) are merged
          into the one with the largest read-out weight.

        The network function is unchanged; parameters are modified in place and the new
        masks returned (``masks`` is not modified).

        Examples
        --------
        >>> import torch
        >>> net = LagTransformer(2, d_model=2, n_heads=1, dim_feedforward=2)
        >>> masks = {n: torch.ones_like(p, dtype=torch.bool) for n, p in net.named_parameters()}
        >>> masks["layers.0.ff2.weight"][:, 1] = False      # unit 1 writes nothing
        >>> net.simplify(masks)["layers.0.ff1.weight"].tolist()
        [[True, True], [False, False]]
        """
        device = masks["head.weight"].device
        new = {k: v.clone() for k, v in masks.items()}
        params = dict(self.named_parameters())
        for name, p in params.items():
            p.mul_(new[name])
        if not self.norm:
            fold_constant_units(self, new)
        live = self.liveness(new)
        last = self.num_layers - 1
        for l, info in enumerate(live["layers"]):
            info = {k: v.to(device) for k, v in info.items()}
            p = f"layers.{l}."
            const = info["ff_const"]
            if l == last and const.any():  # the constant goes to the level
                b1 = params[p + "ff1.bias"][const]
                self.head.bias += (params[p + "ff2.weight"][0, const] * F.gelu(b1)).sum()
                new["head.bias"] |= True
            keep_units = info["ff"] | (const & (l < last))
            for name, cut in self.unit_weights(l, ~keep_units).items():
                new[name] &= ~cut.to(device)
            new[p + "ff2.weight"] &= info["out"].unsqueeze(1)
            new[p + "v.weight"] &= info["value"].unsqueeze(1)
            new[p + "o.weight"] &= info["value"].unsqueeze(0) & info["mid"].unsqueeze(1)
            new[p + "q.weight"] &= info["score"].unsqueeze(1)
            new[p + "k.weight"] &= info["score"].unsqueeze(1)
            new[p + "q.bias"] &= info["score"]
            for name in ("q.weight", "k.weight", "v.weight"):  # reading a zero dimension
                new[p + name] &= info["in"].unsqueeze(0)
            new[p + "ff1.weight"] &= info["cols"].unsqueeze(0)
        new["head.weight"] &= live["final"].to(device).unsqueeze(0)
        dims = live["dims"].to(device)
        new["in_proj.weight"] &= dims.unsqueeze(1)
        for name, p in params.items():
            p.mul_(new[name])
        merge_readout_dims(self, dims & ~live["read"].to(device), new)
        # a merged or folded dimension no longer written is zero: the read-out skips it
        new["head.weight"] &= self.liveness(new)["final"].to(device).unsqueeze(0)
        self.head.weight.mul_(new["head.weight"])
        return new
