"""LagTransformer: the network function, causality and its structure description.

Every structure read-out is checked against an independent answer computed from the network
function (autograd dependence of the outputs on an input or a weight, a smaller network
built by hand, the rank of the Jacobian), as tests/test_structure_protocol.py does for
MLP and LagRNN; the forward pass is checked against torch's own ``nn.MultiheadAttention``.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev
from torch.nn import functional as F

from bsdl.nn import LagTransformer, StructuredNetwork, reset_parameters
from bsdl.sparsify import apply_masks, get_masks, simplify_with_bic


# ----------------------------------------------------------------------------- helpers
def _networks():
    """A few shapes (float64 after _randomize, so exact zeros in gradients are structural)."""
    return [
        LagTransformer(4, d_model=4, n_heads=2, num_layers=1, dim_feedforward=3, skip=True),
        LagTransformer(5, d_model=6, n_heads=3, num_layers=2, dim_feedforward=4, skip=False),
        LagTransformer(
            4, d_model=4, n_heads=1, num_layers=2, dim_feedforward=3, skip=True, norm=True
        ),
        LagTransformer(
            3, d_model=4, n_heads=2, num_layers=1, dim_feedforward=2, skip=True, norm=True
        ),
        LagTransformer(3, d_model=6, n_heads=2, num_layers=2, dim_feedforward=3, skip=True),
    ]


def _randomize(net: nn.Module, seed: int, scale: float = 0.7) -> nn.Module:
    # moderate weights: no saturated softmax or GELU (an exact zero gradient there would be
    # numerical, not structural)
    g = torch.Generator().manual_seed(seed)
    net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return net


def _random_masks(net: nn.Module, seed: int, keep: float) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {name: torch.rand(p.shape, generator=g) < keep for name, p in net.named_parameters()}


def _inputs(net: LagTransformer, seed: int, n: int = 7, steps: int = 5) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, steps, net.n_inputs, generator=g, dtype=torch.float64)


def _probe(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A random linear functional of all outputs (no cancellation by symmetry)."""
    out = net(x)
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(99), dtype=out.dtype)
    return (out * w).sum()


def _input_dependence(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_probe(net, x), x)
    return (grad != 0).reshape(-1, grad.shape[-1]).any(dim=0)


CASES = [(index, seed, keep) for index in range(5) for seed in range(4) for keep in (0.3, 0.6)]


# ----------------------------------------------------------------------------- forward
def _reference(net: LagTransformer, x: torch.Tensor) -> torch.Tensor:
    """The same encoder from torch's nn.MultiheadAttention, written independently."""
    b, k, _ = x.shape
    d = net.d_model
    h = x @ net.in_proj.weight.T
    norm = nn.LayerNorm(d, elementwise_affine=False) if net.norm else nn.Identity()
    causal = torch.ones(k, k, dtype=torch.bool).triu(1)
    out = net.head.bias
    for l, block in enumerate(net.layers):
        mha = nn.MultiheadAttention(d, net.n_heads, batch_first=True).double()
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([block.q.weight, block.k.weight, block.v.weight]))
            mha.in_proj_bias.copy_(torch.cat([block.q.bias, torch.zeros(2 * d)]))
            mha.out_proj.weight.copy_(block.o.weight)
            mha.out_proj.bias.zero_()
        a = norm(h)
        h = h + mha(a, a, a, attn_mask=causal, need_weights=False)[0]
        ff = F.gelu(norm(h) @ block.ff1.weight.T + block.ff1.bias) @ block.ff2.weight.T
        if l < net.num_layers - 1:
            h = h + ff
    out = out + (h @ net.head.weight.T + ff).squeeze(-1)
    if net.skip is not None:
        out = out + (x @ net.skip.weight.T).squeeze(-1)
    return out


@pytest.mark.parametrize("index", range(5))
def test_forward_matches_torch_multihead_attention(index):
    net = _randomize(_networks()[index], index)
    x = _inputs(net, index)
    with torch.no_grad():
        out = net(x)
        torch.testing.assert_close(out, _reference(net, x), rtol=1e-10, atol=1e-10)
    assert out.shape == (7, 5)


@pytest.mark.parametrize("steps", [1, 3, 8])
def test_shapes_and_float32(steps):
    net = LagTransformer(3, d_model=8, n_heads=4, num_layers=2, dim_feedforward=5, skip=True)
    reset_parameters(net, torch.Generator().manual_seed(0))
    out = net(torch.randn(6, steps, 3, generator=torch.Generator().manual_seed(1)))
    assert out.shape == (6, steps) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert dict(net.named_parameters())["layers.1.ff2.weight"].shape == (1, 5)  # the output
    assert dict(net.named_parameters())["layers.0.ff2.weight"].shape == (8, 5)  # the stream


@pytest.mark.parametrize("index", range(5))
def test_causal_output_at_t_ignores_later_steps(index):
    # d out_t / d x_s is exactly zero for s > t, and not zero for s <= t (the attention
    # does read the earlier steps, so the check can fail)
    net = _randomize(_networks()[index], 10 + index)
    x = _inputs(net, index, n=1, steps=6)
    jac = torch.autograd.functional.jacobian(lambda z: net(z)[0], x)[:, 0]  # (t, s, p)
    dep = jac.abs().sum(-1) != 0
    assert torch.equal(dep, torch.ones(6, 6, dtype=torch.bool).tril())
    # and the values: changing the future leaves the past outputs exactly as they were
    later = x.clone()
    later[:, 3:] += 5.0
    with torch.no_grad():
        assert torch.equal(net(later)[:, :3], net(x)[:, :3])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n_inputs=3, d_model=6, n_heads=4), ValueError, "multiple of n_heads"),
        (dict(n_inputs=3, d_model=0), ValueError, "d_model must be a positive integer"),
        (dict(n_inputs=3, n_heads=0), ValueError, "n_heads"),
        (dict(n_inputs=3, num_layers=0), ValueError, "num_layers"),
        (dict(n_inputs=3, dim_feedforward=2.5), ValueError, "dim_feedforward"),
        (dict(n_inputs=0), ValueError, "n_inputs"),
        (dict(n_inputs=3, d_model=True), ValueError, "d_model"),
        (dict(n_inputs=3, norm="yes"), TypeError, "norm must be True or False"),
        (dict(n_inputs=3, skip=1), TypeError, "skip must be True or False"),
        (dict(n_inputs=3, d_model=1, n_heads=1, norm=True), ValueError, "d_model >= 2"),
    ],
)
def test_bad_sizes_are_refused(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        LagTransformer(**kwargs)


# ----------------------------------------------------------------------------- protocol
@pytest.mark.parametrize("net", _networks(), ids=lambda n: f"L{n.num_layers}H{n.n_heads}")
def test_implements_the_protocol(net):
    assert isinstance(net, StructuredNetwork)
    params = dict(net.named_parameters())
    groups = net.prunable_groups()
    labels = [label for label, _ in groups]
    assert len(set(labels)) == len(labels)
    expected = net.num_layers * (net.n_heads + net.dim_feedforward) + net.n_inputs
    assert len(groups) == expected
    for _, group in [*groups, *(("", g) for g in net.input_groups())]:
        assert group and set(group) <= set(params)
        for name, m in group.items():
            assert m.dtype == torch.bool and m.shape == params[name].shape and m.any()
    assert len(net.input_groups()) == net.n_inputs
    assert net.connected_inputs(get_masks(net)).tolist() == [True] * net.n_inputs
    assert net.unpenalized == ("head.bias",)


@pytest.mark.parametrize("index, seed, keep", CASES)
def test_connected_inputs_are_the_inputs_the_output_depends_on(index, seed, keep):
    # With random non-zero weights an input has a path of surviving weights to the output
    # exactly when the output depends on it (an exact cancellation has probability 0).
    net = _randomize(_networks()[index], seed)
    masks = _random_masks(net, seed + 100, keep)
    apply_masks(net, masks, warn=False)
    before = {k: v.clone() for k, v in masks.items()}
    expected = _input_dependence(net, _inputs(net, seed))
    assert net.connected_inputs(masks).tolist() == expected.tolist()
    assert all(torch.equal(before[k], masks[k]) for k in masks)  # masks are not modified


@pytest.mark.parametrize("index, seed, keep", CASES)
def test_simplify_keeps_the_function_and_leaves_no_flat_weight(index, seed, keep):
    net = _randomize(_networks()[index], seed)
    masks = _random_masks(net, seed + 200, keep)
    apply_masks(net, masks, warn=False)
    x = _inputs(net, seed)
    with torch.no_grad():
        expected = net(x)
    before = {k: v.clone() for k, v in masks.items()}
    new = net.simplify(masks)
    assert all(torch.equal(before[k], masks[k]) for k in masks)
    apply_masks(net, new, warn=False)
    with torch.no_grad():
        torch.testing.assert_close(net(x), expected, rtol=1e-10, atol=1e-10)
    assert net.connected_inputs(new).tolist() == net.connected_inputs(before).tolist()
    grads = torch.autograd.grad(_probe(net, x), list(net.parameters()))
    for (name, p), grad in zip(net.named_parameters(), grads):
        assert torch.all(p[~new[name]] == 0)  # pruned weights are zero
        # every surviving weight moves the output: dead heads, value and score rows,
        # units and stream dimensions were removed and constant units folded
        flat = new[name] & (grad == 0)
        assert not flat.any(), f"{name}: {int(flat.sum())} surviving weights do not matter"
    again = net.simplify(new)  # idempotent
    assert all(torch.equal(again[k], new[k]) for k in new)


def test_simplify_folds_a_linear_lag_path_into_the_skip_weights():
    # Nothing reads the stream but the read-out: each lag acts linearly through in_proj.
    net = _randomize(LagTransformer(3, d_model=4, n_heads=2, dim_feedforward=2, skip=True), 5)
    masks = get_masks(net)
    for name in masks:
        if name.startswith("layers."):
            masks[name][:] = False
    masks["skip.weight"][0, 2] = False  # lag 3 only through the stream
    apply_masks(net, masks, warn=False)
    x = _inputs(net, 5)
    with torch.no_grad():
        expected = net(x)
    new = net.simplify(masks)
    apply_masks(net, new, warn=False)
    assert not new["in_proj.weight"].any() and new["skip.weight"].all()
    with torch.no_grad():
        torch.testing.assert_close(net(x), expected, rtol=1e-10, atol=1e-10)
        linear = x @ net.skip.weight.reshape(-1) + net.head.bias
        torch.testing.assert_close(net(x), linear, rtol=1e-10, atol=1e-10)


def test_simplify_folds_a_constant_unit_into_the_level():
    net = _randomize(LagTransformer(2, d_model=2, n_heads=1, dim_feedforward=2), 7)
    masks = get_masks(net)
    masks["layers.0.ff1.weight"][1] = False  # unit 1 reads nothing: gelu(b_1) constant
    apply_masks(net, masks, warn=False)
    level = float(net.head.bias.detach())
    with torch.no_grad():
        const = float(net.layers[0].ff2.weight[0, 1] * F.gelu(net.layers[0].ff1.bias[1]))
    new = net.simplify(masks)
    assert not new["layers.0.ff2.weight"][0, 1] and not new["layers.0.ff1.bias"][1]
    assert float(net.head.bias.detach()) == pytest.approx(level + const, rel=1e-12)


@pytest.mark.parametrize("index", range(5))
def test_input_group_removed_is_the_input_set_to_zero(index):
    net = _randomize(_networks()[index], 3)
    x = _inputs(net, 3)
    for i, group in enumerate(net.input_groups()):
        cut = _randomize(_networks()[index], 3)
        with torch.no_grad():
            for name, p in cut.named_parameters():
                if name in group:
                    p[group[name]] = 0.0
            x0 = x.clone()
            x0[..., i] = 0.0
            torch.testing.assert_close(cut(x), net(x0), rtol=1e-12, atol=1e-12)


def test_unit_group_removed_is_the_smaller_network():
    net = _randomize(LagTransformer(3, d_model=4, n_heads=2, num_layers=2, dim_feedforward=3), 1)
    x = _inputs(net, 1)
    params = dict(net.named_parameters())
    layer, j = 0, 1
    with torch.no_grad():
        for name, m in dict(net.prunable_groups())[f"unit {layer}.{j}"].items():
            params[name][m] = 0.0
    small = LagTransformer(3, d_model=4, n_heads=2, num_layers=2, dim_feedforward=2).double()
    keep = [u for u in range(3) if u != j]
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["layers.0.ff1.weight"] = state["layers.0.ff1.weight"][keep]
    state["layers.0.ff1.bias"] = state["layers.0.ff1.bias"][keep]
    state["layers.0.ff2.weight"] = state["layers.0.ff2.weight"][:, keep]
    state["layers.1.ff1.weight"] = state["layers.1.ff1.weight"][keep]
    state["layers.1.ff1.bias"] = state["layers.1.ff1.bias"][keep]
    state["layers.1.ff2.weight"] = state["layers.1.ff2.weight"][:, keep]
    small.load_state_dict(state)
    # the smaller network lacks layer 1's unit j too; put it back by hand
    with torch.no_grad():
        w1, b1 = net.layers[1].ff1.weight[j], net.layers[1].ff1.bias[j]
        w2 = net.layers[1].ff2.weight[0, j]
        h = net.in_proj(x)
        for l, block in enumerate(net.layers):
            h = h + net._attention(block, h, net._causal_mask(5, x))
            if l == 0:
                h = h + block.ff2(F.gelu(block.ff1(h)))
        extra = w2 * F.gelu(h @ w1 + b1)
        torch.testing.assert_close(net(x), small(x) + extra, rtol=1e-12, atol=1e-12)


def test_head_group_holds_every_weight_of_the_head():
    # after zeroing head 0.1's group the output depends on no weight of that head any more
    net = _randomize(LagTransformer(3, d_model=4, n_heads=2, dim_feedforward=2), 2)
    group = dict(net.prunable_groups())["head 0.1"]
    params = dict(net.named_parameters())
    x = _inputs(net, 2)
    grads = dict(zip(params, torch.autograd.grad(_probe(net, x), list(params.values()))))
    assert all((grads[k][m] != 0).any() for k, m in group.items())
    with torch.no_grad():
        for name, m in group.items():
            params[name][m] = 0.0
    grads = dict(zip(params, torch.autograd.grad(_probe(net, x), list(params.values()))))
    rows = torch.arange(4) >= 2  # head 1 owns dimensions 2, 3
    block = "layers.0."
    assert not grads[block + "q.weight"][rows].any() and not grads[block + "q.bias"][rows].any()
    assert not grads[block + "k.weight"][rows].any()
    # values and outputs of the head: o columns still get a gradient only through v rows
    # that are zero now, and v rows only through o columns that are zero now
    assert (
        not grads[block + "v.weight"][rows].any() and not grads[block + "o.weight"][:, rows].any()
    )
    assert grads[block + "q.weight"][~rows].any()  # head 0 is untouched


# ----------------------------------------------------------------------------- null directions
def _jacobian_null_dim(net: LagTransformer, masks, seed: int) -> int:
    """Rank deficiency of the Jacobian of all outputs in the surviving weights, at the
    network's own (randomized) weights and random inputs."""
    base = {n: p.detach() for n, p in net.named_parameters()}
    index = {n: torch.nonzero(masks[n].reshape(-1)).reshape(-1) for n in base}
    index = {n: ix for n, ix in index.items() if ix.numel()}
    theta = torch.cat([base[n].reshape(-1)[ix] for n, ix in index.items()])
    x = torch.randn(100, 5, net.n_inputs, generator=torch.Generator().manual_seed(seed))

    def f(th):
        params = dict(base)
        for (n, ix), piece in zip(index.items(), torch.split(th, [len(i) for i in index.values()])):
            params[n] = base[n].reshape(-1).scatter(0, ix, piece).view_as(base[n])
        return functional_call(net, params, (x.double(),)).reshape(-1)

    sv = torch.linalg.svdvals(jacrev(f)(theta))
    return int(theta.numel() - (sv > 1e-9 * sv.max()).sum())


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        # per head GL(dh) of its score rows (q -> A q, k -> A^-T k) and of its value rows
        # (v -> A v, o -> o A^-1): 2 dh^2 each; GL(d_model) of the residual stream
        # (in_proj and writes -> A ., reads -> . A^-1): d_model^2. With n_inputs >= d_model
        # nothing else: 2 heads of 2 dims: 2 x 8 + 16
        (dict(n_inputs=4, d_model=4, n_heads=2, dim_feedforward=4, skip=True), 32),
        (dict(n_inputs=5, d_model=4, n_heads=2, dim_feedforward=3), 32),
        # one head of 4 dimensions: 2 x 16 + 16
        (dict(n_inputs=5, d_model=4, n_heads=1, dim_feedforward=4), 48),
        (dict(n_inputs=2, d_model=2, n_heads=1, dim_feedforward=2), 12),
    ],
)
def test_null_dimension_of_dense_networks_by_hand(kwargs, expected):
    net = LagTransformer(**kwargs)
    assert net.null_dimension(get_masks(net), steps=5) == expected
    assert _jacobian_null_dim(_randomize(net, 0), get_masks(net), 0) == expected


@pytest.mark.parametrize("index, seed", [(i, s) for i in (0, 1, 4) for s in range(3)])
def test_null_dimension_is_that_of_other_weights(index, seed):
    # generic: the count at null_dimension's own random weights is the count at others
    net = _randomize(_networks()[index], seed)
    masks = _random_masks(net, seed + 300, keep=0.6)
    apply_masks(net, masks, warn=False)
    new = net.simplify(masks)
    apply_masks(net, new, warn=False)
    assert net.null_dimension(new, steps=5) == _jacobian_null_dim(net, new, seed)


# ----------------------------------------------------------------------------- sparsify
def test_bic_simplify_removes_what_the_data_do_not_need():
    # y_t = 0.8 x_{t,0} + noise: attention and feed-forward carry nothing; BIC over the
    # network's own groups removes every head, unit and the two idle inputs (each costs
    # log n per weight, far above the chi-square(1)-sized fit it buys at n = 2000)
    net = LagTransformer(3, d_model=4, n_heads=2, dim_feedforward=3, skip=True)
    reset_parameters(net, torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.05)
        net.skip.weight.copy_(torch.tensor([[0.8, 0.0, 0.0]]))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(250, 8, 3, generator=g)
    y = 0.8 * x[..., 0] + 0.5 * torch.randn(250, 8, generator=g)

    def mse(m):
        return (m(x) - y).pow(2).mean()

    masks = simplify_with_bic(net, get_masks(net), mse, n=2000)
    assert net.connected_inputs(masks).tolist() == [True, False, False]
    assert not any(masks[n].any() for n in masks if n.startswith("layers."))
    with torch.no_grad():
        assert math.isfinite(float(mse(net)))
