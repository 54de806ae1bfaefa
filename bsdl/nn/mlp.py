"""Multilayer perceptron whose linear layers can carry pruning masks, and its structure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from bsdl.nn.structure import Group, Masks, chain_connected_inputs, check_masks

__all__ = ["MLP", "ACTIVATIONS", "simplify_chain"]

ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
}


class MLP(nn.Module):
    """Fully connected network ``in -> hidden... -> out`` with one activation throughout.

    The layers are plain ``nn.Linear`` modules kept in ``self.linears`` (input layer first),
    so pruning masks can be attached to them as buffers by :mod:`bsdl.sparsify`. The
    read-out bias is listed in ``unpenalized``: the prior never prunes it. The network
    describes its structure through :class:`~bsdl.nn.structure.StructuredNetwork`
    (connected inputs, hidden units and inputs as prunable groups, :meth:`simplify`).

    Parameters
    ----------
    in_features : int
    hidden_layer_sizes : sequence of int
    out_features : int, default 1
    activation : {"tanh", "relu", "sigmoid", "gelu", "softplus"}, default "tanh"
        Smooth activations (tanh, softplus, gelu, sigmoid) give well-defined Fisher
        information for the delta-method intervals.
    skip : bool, default False
        Add a linear path: a bias-free ``nn.Linear`` ``skip`` from the inputs straight to
        the outputs, ``f(x) = g(x) + skip(x)``, under the prior like every other weight.
        An input is connected when a first-layer weight links it to a live unit or its
        skip weight survives.

    Examples
    --------
    >>> import torch
    >>> net = MLP(5, (6, 4, 3))
    >>> net(torch.zeros(2, 5)).shape
    torch.Size([2, 1])
    >>> masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in net.named_parameters()}
    >>> masks["linears.0.weight"][:, 1] = False                  # input 1 read by no unit
    >>> net.connected_inputs(masks).tolist()
    [True, False, True, True, True]
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes: Sequence[int] = (16,),
        out_features: int = 1,
        activation: str = "tanh",
        skip: bool = False,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [int(in_features), *[int(h) for h in hidden_layer_sizes], int(out_features)]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = ACTIVATIONS[activation]()
        self.activation_name = activation
        self.skip = nn.Linear(sizes[0], sizes[-1], bias=False) if skip else None

    @property
    def unpenalized(self) -> tuple[str, ...]:
        """The read-out bias (the level of each output) is outside the prior: never pruned,
        estimated freely, and part of the Fisher information (see :mod:`bsdl.nn.penalty`)."""
        return (f"linears.{len(self.linears) - 1}.bias",)

    @property
    def in_features(self) -> int:
        return self.linears[0].in_features

    @property
    def out_features(self) -> int:
        return self.linears[-1].out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.linears) - 1
        h = x
        for i, layer in enumerate(self.linears):
            h = layer(h)
            if i < last:
                h = self.activation(h)
        return h if self.skip is None else h + self.skip(x)

    # ------------------------------------------------------------------ structure
    def _keys(self, kind: str) -> list[str]:
        return [f"linears.{i}.{kind}" for i in range(len(self.linears))]

    def connected_inputs(self, masks: Masks) -> torch.Tensor:
        """Boolean vector over the ``in_features`` inputs: True when a path of surviving
        weights links the input to an output (see
        :func:`~bsdl.nn.structure.chain_connected_inputs`)."""
        check_masks(self, masks)
        keep = chain_connected_inputs([masks[k] for k in self._keys("weight")])
        if self.skip is not None:  # linear path straight to the outputs
            keep = keep | masks["skip.weight"].any(dim=0)
        return keep

    def input_groups(self) -> list[Masks]:
        """Per input, its column of the first layer's weight and (with ``skip``) of the
        skip weight."""
        weight = self.linears[0].weight
        groups = []
        for i in range(self.in_features):
            column = torch.zeros_like(weight, dtype=torch.bool)
            column[:, i] = True
            group = {"linears.0.weight": column}
            if self.skip is not None:
                group["skip.weight"] = torch.zeros_like(self.skip.weight, dtype=torch.bool)
                group["skip.weight"][:, i] = True
            groups.append(group)
        return groups

    def prunable_groups(self) -> list[Group]:
        """Every hidden unit (its incoming weights, its bias and its outgoing weights),
        labelled ``"unit l.j"``, then every input (:meth:`input_groups`), ``"input i"``.

        Examples
        --------
        >>> net = MLP(2, (3,))
        >>> label, group = net.prunable_groups()[1]
        >>> label, sorted(group), group["linears.1.weight"].tolist()
        ('unit 0.1', ['linears.0.bias', 'linears.0.weight', 'linears.1.weight'], \
[[False, True, False]])
        """
        weights, biases = self._keys("weight"), self._keys("bias")
        groups: list[Group] = []
        for layer in range(len(self.linears) - 1):
            lin, nxt = self.linears[layer], self.linears[layer + 1]
            for j in range(lin.out_features):
                rows = torch.zeros_like(lin.weight, dtype=torch.bool)
                rows[j] = True
                bias = torch.zeros_like(lin.bias, dtype=torch.bool)
                bias[j] = True
                cols = torch.zeros_like(nxt.weight, dtype=torch.bool)
                cols[:, j] = True
                groups.append(
                    (
                        f"unit {layer}.{j}",
                        {weights[layer]: rows, biases[layer]: bias, weights[layer + 1]: cols},
                    )
                )
        groups += [(f"input {i}", g) for i, g in enumerate(self.input_groups())]
        return groups

    def simplify(self, masks: Masks) -> Masks:
        """Drop hidden units that cannot reach the output and fold constant units into the
        next layer's bias (:func:`simplify_chain`); the function is unchanged."""
        check_masks(self, masks)
        return simplify_chain(list(self.linears), masks, self.activation, prefix="linears")


@torch.no_grad()
def simplify_chain(
    linears: list[nn.Linear],
    masks: Masks,
    activation: Callable[[torch.Tensor], torch.Tensor],
    prefix: str = "linears",
) -> Masks:
    """Remove hidden units that cannot affect the output, keeping the function unchanged.

    For a chain of ``nn.Linear`` layers ``linears`` separated by ``activation``, whose
    parameters are named ``f"{prefix}.{i}.weight"`` and ``f"{prefix}.{i}.bias"``:

    * a hidden unit with no path of surviving weights to the output is dropped (its
      incoming weights and bias are masked);
    * a hidden unit with no surviving incoming weight outputs the constant
      ``activation(bias)``; that constant is folded into the next layer's bias and the
      unit is dropped.

    Both leave the network function unchanged and remove directions in which the
    likelihood is flat, so the Fisher information of the remaining weights is not
    singular for these structural reasons. Parameters are modified in place; the
    updated masks are returned (``masks`` is not modified).

    Examples
    --------
    >>> import torch
    >>> net = MLP(2, (2,))
    >>> masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in net.named_parameters()}
    >>> masks["linears.0.weight"][1] = False          # unit 1 reads no input: a constant
    >>> x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    >>> with torch.no_grad():
    ...     _ = net.linears[0].weight[1].zero_()      # the pruned weights are zero
    ...     before = net(x)
    >>> new = simplify_chain(list(net.linears), masks, net.activation)
    >>> new["linears.1.weight"].tolist(), torch.allclose(net(x), before)
    ([[True, False]], True)
    """
    masks = {k: v.clone() for k, v in masks.items()}
    n_layers = len(linears)
    wkey = [f"{prefix}.{i}.weight" for i in range(n_layers)]
    bkey = [f"{prefix}.{i}.bias" for i in range(n_layers)]
    changed = True
    while changed:
        changed = False
        # 1. units (outputs of layer l < L-1) without a path to the output
        alive = torch.ones(
            linears[-1].out_features, dtype=torch.bool, device=masks[wkey[-1]].device
        )
        for l in range(n_layers - 1, 0, -1):
            alive = (masks[wkey[l]].float().T @ alive.float()) > 0
            dead = ~alive
            if dead.any() and (masks[wkey[l - 1]][dead].any() or masks[bkey[l - 1]][dead].any()):
                masks[wkey[l - 1]][dead] = False
                masks[bkey[l - 1]][dead] = False
                changed = True
        # 2. units without incoming weights: constant activation(bias), fold forward
        for l in range(n_layers - 1):
            no_input = ~masks[wkey[l]].any(dim=1)
            outgoing = masks[wkey[l + 1]][:, no_input]
            if outgoing.any():
                const = activation(linears[l].bias * masks[bkey[l]])[no_input]
                w_next = linears[l + 1].weight * masks[wkey[l + 1]]
                # a pruned next-layer bias may still hold its old value (masks are applied
                # after simplification): zero it before the fold switches its mask on
                linears[l + 1].bias.mul_(masks[bkey[l + 1]])
                linears[l + 1].bias += w_next[:, no_input] @ const
                masks[bkey[l + 1]] |= outgoing.any(dim=1)
                masks[wkey[l + 1]][:, no_input] = False
                masks[bkey[l]][no_input] = False
                changed = True
    for i in range(n_layers):
        linears[i].weight.mul_(masks[wkey[i]])
        linears[i].bias.mul_(masks[bkey[i]])
    return masks
