"""Folds of :meth:`bsdl.nn.LagTransformer.simplify` and the structural null dimension (L1).

The folds move what a pruned :class:`~bsdl.nn.LagTransformer` computes as a constant or
linearly into the parameters that already express it (biases, the level, the skip path),
leaving the network function unchanged. :func:`jacobian_null_dimension` is generic: the
rank deficiency of any network's Jacobian in its surviving weights at random weights.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, jacrev
from torch.nn import functional as F

from bsdl.nn.structure import Masks

__all__ = ["fold_constant_units", "merge_readout_dims", "jacobian_null_dimension"]


@torch.no_grad()
def fold_constant_units(net: nn.Module, new: Masks) -> None:
    """A unit of an earlier layer that reads nothing adds a constant ``c`` to the stream;
    later layers read it linearly (``q`` and ``ff1`` biases absorb it, ``k`` cancels it
    in the softmax, ``v`` passes it through the attention weights, which sum to one)
    and so does the read-out: fold it there and drop the unit (without a layer norm)."""
    params = dict(net.named_parameters())
    for l in range(net.num_layers - 1):
        const = net.liveness(new)["layers"][l]["ff_const"].to(net.head.bias.device)
        if not const.any():
            continue
        p = f"layers.{l}."
        c = params[p + "ff2.weight"][:, const] @ F.gelu(params[p + "ff1.bias"][const])
        for later in range(l + 1, net.num_layers):
            p2 = f"layers.{later}."
            params[p2 + "q.bias"] += params[p2 + "q.weight"] @ c
            new[p2 + "q.bias"] |= (new[p2 + "q.weight"] & (c != 0)).any(dim=1)
            c = c + params[p2 + "o.weight"] @ (params[p2 + "v.weight"] @ c)
            params[p2 + "ff1.bias"] += params[p2 + "ff1.weight"] @ c
            new[p2 + "ff1.bias"] |= (new[p2 + "ff1.weight"] & (c != 0)).any(dim=1)
        net.head.bias += net.head.weight.reshape(-1) @ c
        new["head.bias"] |= True
        for name, cut in net.unit_weights(l, const).items():
            new[name] &= ~cut.to(new[name].device)
            params[name].mul_(new[name])


@torch.no_grad()
def merge_readout_dims(net: nn.Module, only: torch.Tensor, new: Masks) -> None:
    """Fold the writes into the stream dimensions ``only`` the read-out reads (see
    :meth:`bsdl.nn.LagTransformer.simplify`); ``new`` is updated in place."""
    head = net.head.weight.reshape(-1)
    writers = [f"layers.{l}.o.weight" for l in range(net.num_layers)]
    writers += [f"layers.{l}.ff2.weight" for l in range(net.num_layers - 1)]
    params = dict(net.named_parameters())
    if net.skip is not None and only.any():
        w = params["in_proj.weight"]
        net.skip.weight += (head[only] @ w[only]).reshape(net.skip.weight.shape)
        new["skip.weight"] |= new["in_proj.weight"][only].any(dim=0).reshape(1, -1)
        new["in_proj.weight"] &= ~only.unsqueeze(1)
        w.mul_(new["in_proj.weight"])
    else:
        writers.append("in_proj.weight")
    if int(only.sum()) < 2:
        return
    scale = torch.where(only, head.abs(), torch.zeros_like(head))
    target = int(scale.argmax())
    if float(scale[target]) == 0.0:
        return
    others = only.clone()
    others[target] = False
    for name in writers:
        w = params[name]
        w[target] = (head[only] @ w[only]) / head[target]
        new[name][target] = new[name][only].any(dim=0)
        new[name] &= ~others.unsqueeze(1)
        w.mul_(new[name])


def jacobian_null_dimension(net: nn.Module, masks: Masks, steps: int, seed: int = 0) -> int:
    """Rank deficiency of the Jacobian of ``net``'s outputs in its surviving weights.

    Weights are drawn at random (``0.7 N(0, 1)``, pruned ones zero, float64) and so are
    the windows ``(N, steps, n_inputs)``, with ``N * steps`` at least twice the number of
    surviving weights; singular values below ``1e-9`` of the largest count as zero.
    ``net`` is a fresh network of the right shape (its own weights are not used).
    """
    g = torch.Generator().manual_seed(seed)
    net = net.double()
    shapes = {n: p.shape for n, p in net.named_parameters()}
    index = {n: torch.nonzero(masks[n].detach().cpu().reshape(-1)).reshape(-1) for n in shapes}
    index = {n: ix for n, ix in index.items() if ix.numel()}
    if not index:
        return 0
    base = {  # pruned weights are zero
        n: torch.randn(shape, generator=g, dtype=torch.float64) * masks[n].detach().cpu() * 0.7
        for n, shape in shapes.items()
    }
    sizes = [int(ix.numel()) for ix in index.values()]
    theta = torch.cat([base[n].reshape(-1)[ix] for n, ix in index.items()])
    windows = 2 * theta.numel() // steps + 2
    x = torch.randn(windows, steps, net.n_inputs, generator=g, dtype=torch.float64)

    def outputs(th: torch.Tensor) -> torch.Tensor:
        params = dict(base)
        for (n, ix), piece in zip(index.items(), torch.split(th, sizes)):
            params[n] = base[n].reshape(-1).scatter(0, ix, piece).view(shapes[n])
        return functional_call(net, params, (x,)).reshape(-1)

    sv = torch.linalg.svdvals(jacrev(outputs)(theta))
    return int(theta.numel() - (sv > 1e-9 * sv.max()).sum())
