"""Networks describe their structure (bsdl.nn.structure.StructuredNetwork); sparsify is generic.

Each property of the protocol is checked against an independent answer computed from the
network function itself (autograd dependence of the output on an input or a weight, a
smaller network built by hand, the output at a zeroed input), never by re-running the
read-outs. A toy third network, written here, goes through the generic algorithms of
``bsdl.sparsify`` and the restart pipeline of ``bsdl.inference`` to show that nothing there
knows the parameter names of ``MLP`` or ``LagRNN``.
"""

from __future__ import annotations

import ast
import math
import re
from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from bsdl import MixtureGaussianPrior
from bsdl.inference import PriorAnnealing, TrainConfig
from bsdl.inference.pipeline import FitSpec, run_restart
from bsdl.nn import MLP, LagRNN, StructuredNetwork
from bsdl.nn.structure import check_masks
from bsdl.sparsify import (
    apply_masks,
    bic_simplify,
    get_masks,
    input_inclusion,
    simplify_structure,
    simplify_with_bic,
)

SPARSIFY_DIR = Path(__file__).resolve().parents[1] / "bsdl" / "sparsify"


# ----------------------------------------------------------------------------- helpers
def _networks():
    """A few shapes of both networks (float64, so exact zeros in gradients are structural)."""
    return [
        MLP(5, (4,), 1, "tanh"),
        MLP(6, (5, 3), 2, "softplus"),
        LagRNN(4, hidden_size=3, num_layers=1, cell="rnn", skip=True),
        LagRNN(5, hidden_size=3, num_layers=2, cell="lstm", skip=False),
        LagRNN(4, hidden_size=2, num_layers=2, cell="gru", skip=True),
    ]


def _randomize(net: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return net


def _random_masks(net: nn.Module, seed: int, keep: float) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {name: torch.rand(p.shape, generator=g) < keep for name, p in net.named_parameters()}


def _inputs(net: nn.Module, seed: int, n: int = 7) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if isinstance(net, LagRNN):  # windows of 4 steps, so recurrent weights matter
        return torch.randn(n, 4, net.n_inputs, generator=g, dtype=torch.float64)
    return torch.randn(n, net.in_features, generator=g, dtype=torch.float64)


def _probe(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A random linear functional of all outputs (no cancellation by symmetry)."""
    out = net(x)
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(99), dtype=out.dtype)
    return (out * w).sum()


def _gated(net: nn.Module) -> bool:
    return isinstance(net, LagRNN) and net.cell != "rnn"


def _input_dependence(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Per input feature: does the output depend on it (non-zero gradient anywhere)?"""
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(_probe(net, x), x)
    return (grad != 0).reshape(-1, grad.shape[-1]).any(dim=0)


# ----------------------------------------------------------------------------- protocol
@pytest.mark.parametrize("net", _networks(), ids=lambda n: type(n).__name__)
def test_networks_implement_the_protocol(net):
    assert isinstance(net, StructuredNetwork)
    params = dict(net.named_parameters())
    groups = net.prunable_groups()
    assert groups and all(isinstance(label, str) for label, _ in groups)
    assert len({label for label, _ in groups}) == len(groups)  # labels are unique
    for _, group in [*groups, *(("", g) for g in net.input_groups())]:
        assert group and set(group) <= set(params)
        for name, m in group.items():
            assert m.dtype == torch.bool and m.shape == params[name].shape and m.any()
    n_inputs = net.n_inputs if isinstance(net, LagRNN) else net.in_features
    assert len(net.input_groups()) == n_inputs
    assert net.connected_inputs(get_masks(net)).tolist() == [True] * n_inputs


def test_a_plain_module_is_not_structured():
    assert not isinstance(nn.Linear(3, 1), StructuredNetwork)
    with pytest.raises(TypeError, match="module must implement"):
        simplify_with_bic(nn.Linear(3, 1), {}, mse=lambda m: 1.0, n=10)
    with pytest.raises(TypeError, match="module must implement"):
        simplify_structure(nn.Sequential(nn.Linear(2, 1)), {})


# ----------------------------------------------------------------------------- connected inputs
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("index", range(5))
def test_connected_inputs_are_the_inputs_the_output_depends_on(index, seed):
    # With random non-zero weights, an input has a path of surviving weights to an output
    # exactly when the output depends on it (an exact cancellation has probability 0).
    # Sparse random masks (keep 35 %) make disconnected inputs and dead units common.
    # Gated cells are read per unit, not per gate: a path through a gate that multiplies a
    # fully pruned block (a GRU reset gate whose U_n row is pruned) counts, so there the
    # read-out may keep an input the output does not depend on, but never drops one it does.
    net = _randomize(_networks()[index], seed)
    masks = _random_masks(net, seed + 100, keep=0.35)
    apply_masks(net, masks, warn=False)
    expected = _input_dependence(net, _inputs(net, seed))
    before = {k: v.clone() for k, v in masks.items()}
    connected = net.connected_inputs(masks)
    if _gated(net):
        assert not (expected & ~connected).any()
    else:
        assert connected.tolist() == expected.tolist()
    assert all(torch.equal(before[k], masks[k]) for k in masks)  # masks are not modified


# ----------------------------------------------------------------------------- simplify
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("index", range(5))
def test_simplify_keeps_the_function_and_leaves_no_flat_weight(index, seed):
    net = _randomize(_networks()[index], seed)
    masks = _random_masks(net, seed + 200, keep=0.45)
    apply_masks(net, masks, warn=False)
    x = _inputs(net, seed)
    with torch.no_grad():
        expected = net(x)
    before = {k: v.clone() for k, v in masks.items()}
    new = net.simplify(masks)
    assert all(torch.equal(before[k], masks[k]) for k in masks)  # masks are not modified
    apply_masks(net, new, warn=False)
    with torch.no_grad():
        torch.testing.assert_close(net(x), expected, rtol=1e-12, atol=1e-12)
    assert net.connected_inputs(new).tolist() == net.connected_inputs(before).tolist()
    for name, p in net.named_parameters():  # pruned weights are zero
        assert torch.all(p[~new[name]] == 0)
    if isinstance(net, MLP):
        # Every weight that survives moves the output: its gradient is non-zero (dead units
        # are dropped and constant units folded, so no surviving weight is flat).
        grads = torch.autograd.grad(_probe(net, x), list(net.parameters()))
        for (name, _), grad in zip(net.named_parameters(), grads):
            flat = new[name] & (grad == 0)
            assert not flat.any(), f"{name}: {int(flat.sum())} surviving weights do not matter"
    else:
        # A unit is live when the output depends on it: the gradient with respect to the
        # biases of its gate rows is non-zero (computed at the pruned network; the gradient of
        # a zeroed bias is still defined). Dead units lose every weight; a live unit keeps its
        # gate rows (whatever feeds a live unit is live).
        # Without gates a unit the output does not depend on is dead and loses every weight;
        # with gates (read per unit, see above) such a unit may stay.
        biases = [layer.bias for layer in net.input_layers]
        grads = torch.autograd.grad(_probe(net, x), biases)
        groups = dict(net.prunable_groups())
        for layer, grad in enumerate(grads):
            live = (grad.reshape(-1, net.hidden_size) != 0).any(dim=0)
            for j in range(net.hidden_size):
                group = groups[f"unit {layer}.{j}"]
                if live[j]:
                    rows = group[f"input_layers.{layer}.bias"]
                    for kind in ("input_layers.{}.weight", "input_layers.{}.bias"):
                        name = kind.format(layer)
                        assert torch.equal(new[name][rows], before[name][rows]), name
                    name = f"recurrent_layers.{layer}.weight"
                    assert torch.equal(new[name][rows], before[name][rows]), name
                elif not _gated(net):
                    for name, m in group.items():
                        assert not new[name][m].any(), f"dead unit {layer}.{j} keeps {name}"
    # simplify is idempotent
    again = net.simplify(new)
    assert all(torch.equal(again[k], new[k]) for k in new)


# ----------------------------------------------------------------------------- groups
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


def test_mlp_unit_group_removed_is_the_smaller_network():
    net = _randomize(MLP(4, (3, 5), 2, "tanh"), 0)
    x = _inputs(net, 0)
    groups = dict(net.prunable_groups())
    layer, j = 1, 2
    for name, m in groups[f"unit {layer}.{j}"].items():
        with torch.no_grad():
            dict(net.named_parameters())[name][m] = 0.0
    small = MLP(4, (3, 4), 2, "tanh").double()
    keep = [u for u in range(5) if u != j]
    with torch.no_grad():
        small.linears[0].load_state_dict(net.linears[0].state_dict())
        small.linears[1].weight.copy_(net.linears[1].weight[keep])
        small.linears[1].bias.copy_(net.linears[1].bias[keep])
        small.linears[2].weight.copy_(net.linears[2].weight[:, keep])
        small.linears[2].bias.copy_(net.linears[2].bias)
        torch.testing.assert_close(net(x), small(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_rnn_unit_group_removed_is_the_smaller_network(cell):
    hidden, j = 3, 1
    net = _randomize(LagRNN(3, hidden_size=hidden, num_layers=1, cell=cell, skip=True), 1)
    x = _inputs(net, 1)
    groups = dict(net.prunable_groups())
    params = dict(net.named_parameters())
    with torch.no_grad():
        for name, m in groups[f"unit 0.{j}"].items():
            params[name][m] = 0.0
    small = LagRNN(3, hidden_size=hidden - 1, num_layers=1, cell=cell, skip=True).double()
    keep = [u for u in range(hidden) if u != j]
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    rows = [g * hidden + u for g in range(gates) for u in keep]  # gate blocks of the kept units
    with torch.no_grad():
        small.input_layers[0].weight.copy_(net.input_layers[0].weight[rows])
        small.input_layers[0].bias.copy_(net.input_layers[0].bias[rows])
        small.recurrent_layers[0].weight.copy_(net.recurrent_layers[0].weight[rows][:, keep])
        small.head.weight.copy_(net.head.weight[:, keep])
        small.head.bias.copy_(net.head.bias)
        small.skip.weight.copy_(net.skip.weight)
        torch.testing.assert_close(net(x), small(x), rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- a third network
class AdditiveNet(nn.Module):
    """``y = level + sum_i coef_i tanh(scale_i x_i + shift_i)``: one term per input.

    Written only against the protocol; its parameter names are its own.
    """

    unpenalized = ("level",)

    def __init__(self, n_inputs: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(n_inputs))
        self.shift = nn.Parameter(torch.zeros(n_inputs))
        self.coef = nn.Parameter(torch.zeros(n_inputs))
        self.level = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.level + (self.coef * torch.tanh(self.scale * x + self.shift)).sum(-1)

    def _one(self, i: int) -> torch.Tensor:
        return torch.arange(self.coef.numel()) == i

    def connected_inputs(self, masks):
        check_masks(self, masks)
        return masks["scale"] & masks["coef"]

    def input_groups(self):
        return [{"scale": self._one(i)} for i in range(self.coef.numel())]

    def prunable_groups(self):
        names = ("scale", "shift", "coef")
        return [(f"term {i}", {k: self._one(i) for k in names}) for i in range(self.coef.numel())]

    @torch.no_grad()
    def simplify(self, masks):
        check_masks(self, masks)
        masks = {k: v.clone() for k, v in masks.items()}
        dead = ~masks["coef"]  # the term reaches no output
        masks["scale"] &= ~dead
        masks["shift"] &= ~dead
        const = masks["coef"] & ~masks["scale"]  # coef * tanh(shift): fold into the level
        if const.any():
            shift = self.shift * masks["shift"]
            self.level += (self.coef * torch.tanh(shift))[const].sum()
            for k in ("coef", "shift"):
                masks[k] &= ~const
        for name, p in self.named_parameters():
            p.mul_(masks[name])
        return masks


def _additive_data(n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (
        0.5
        + 1.5 * torch.tanh(x[:, 0])
        - torch.tanh(2 * x[:, 1])
        + 0.5 * torch.randn(n, generator=g)
    )
    return x, y


def test_third_network_goes_through_bic_and_selection():
    # Inputs 0 and 1 carry the signal (effects of 1.5 and 1 against noise sd 0.5: t ~ 60 at
    # n = 2000); terms 2 and 3 hold spurious weights (coef 0.02), term 4 a constant 0.3
    # tanh(0.7) without input. BIC must drop terms 2 and 3: each costs 3 log n ~ 23 in BIC,
    # while the data move n log RSS by a chi-square(1)-sized amount for a term they do not
    # contain; simplify must fold term 4 into the level.
    n = 2000
    x, y = _additive_data(n, 0)
    net = AdditiveNet(5)
    with torch.no_grad():
        net.scale.copy_(torch.tensor([1.0, 2.0, 1.0, 1.0, 0.0]))
        net.shift.copy_(torch.tensor([0.0, 0.0, 0.1, -0.1, 0.7]))
        net.coef.copy_(torch.tensor([1.5, -1.0, 0.02, 0.02, 0.3]))
        net.level.fill_(0.5 - 0.3 * math.tanh(0.7))
    masks = {name: p != 0 for name, p in net.named_parameters()}
    assert isinstance(net, StructuredNetwork)

    def mse(module):
        return (module(x) - y).pow(2).mean()

    with torch.no_grad():
        before = float(mse(net))
    # the generic clean-up folds the constant term without changing the function
    folded = simplify_structure(net, masks)
    with torch.no_grad():
        assert float(mse(net)) == pytest.approx(before, rel=1e-6)
    assert not folded["coef"][4] and float(net.coef.detach()[4]) == 0.0
    # generic BIC over the network's own groups
    _, removed = bic_simplify(net, folded, net.prunable_groups(), mse, n)
    assert set(removed) == {"term 2", "term 3"}
    # the whole chain, from the original parameters
    net2 = AdditiveNet(5)
    net2.load_state_dict(
        {
            "scale": torch.tensor([1.0, 2.0, 1.0, 1.0, 0.0]),
            "shift": torch.tensor([0.0, 0.0, 0.1, -0.1, 0.7]),
            "coef": torch.tensor([1.5, -1.0, 0.02, 0.02, 0.3]),
            "level": torch.tensor([0.5 - 0.3 * math.tanh(0.7)]),
        }
    )
    out = simplify_with_bic(net2, masks, mse, n)
    assert net2.connected_inputs(out).tolist() == [True, True, False, False, False]
    for name, p in net2.named_parameters():
        assert torch.all(p[~out[name]] == 0)
    with torch.no_grad():  # BIC went down: dropping 6 weights cost less than 6 log n
        assert n * math.log(float(mse(net2)) / before) < 6 * math.log(n)
    # selection: an input's inclusion is the largest over the weights that read it
    q = {name: p.detach().abs() for name, p in net2.named_parameters()}
    torch.testing.assert_close(input_inclusion(net2, q), net2.scale.detach().abs())


def test_third_network_through_the_restart_pipeline():
    # The anneal -> threshold -> simplify_with_bic -> refit pipeline on a network it has never
    # seen. The signal sits in inputs 0 and 1 (t ~ 40 at n = 1000); inputs 2-4 are noise.
    n = 1000
    x, y = _additive_data(n, 1)

    def loss_fn(module, xb, yb):
        return 0.5 * (module(xb) - yb).pow(2).mean()

    def init(module):
        with torch.no_grad():
            module.coef.fill_(0.1)

    spec = FitSpec(
        build_module=partial(AdditiveNet, 5),
        loss_fn=loss_fn,
        full_loss=lambda m: loss_fn(m, x, y),
        inputs=x,
        targets=y,
        config=TrainConfig(
            n_epochs=60,
            batch_size=100,
            lr=0.02,
            prior=MixtureGaussianPrior(lambda_=1e-3, sigma0=0.01, sigma1=1.0),
            schedule=PriorAnnealing(),
            estimate_noise=True,
        ),
        refit_epochs=20,
        refit_optimizer="adam",
        device=torch.device("cpu"),
        simplify=partial(simplify_with_bic, mse=lambda m: (m(x) - y).pow(2).mean(), n=n),
        init_module=init,
    )
    result = run_restart(spec, seed=0)
    net = AdditiveNet(5)
    stored = {
        k.removesuffix("_mask"): v for k, v in result.state_dict.items() if k.endswith("_mask")
    }
    apply_masks(net, stored, warn=False)  # creates the mask buffers, then load the fit
    net.load_state_dict(result.state_dict)
    masks = get_masks(net)
    assert net.connected_inputs(masks).tolist() == [True, True, False, False, False]
    assert masks["level"].all()  # unpenalized: never pruned (threshold_masks keeps it)
    q = input_inclusion(net, result.inclusion)
    assert q[:2].min() > 0.5 and q.shape == (5,)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_the_argument_named():
    net = LagRNN(3, hidden_size=2, cell="rnn")
    masks = get_masks(net)
    with pytest.raises(ValueError, match="masks lacks a mask"):
        net.connected_inputs({k: v for k, v in masks.items() if not k.startswith("head")})
    with pytest.raises(ValueError, match="masks lacks a mask"):
        MLP(3, (2,)).simplify({})
    bad_shape = dict(get_masks(MLP(3, (2,))))
    first = next(iter(bad_shape))
    bad_shape[first] = bad_shape[first][:, :2]
    with pytest.raises(ValueError, match="has shape"):
        MLP(3, (2,)).connected_inputs(bad_shape)
    with pytest.raises(ValueError, match="names parameters without a mask"):
        bic_simplify(net, masks, [("g", {"nope": torch.ones(1, dtype=torch.bool)})], None, 10)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        bic_simplify(net, masks, net.prunable_groups(), None, 0)
    with pytest.raises(TypeError, match="groups"):
        bic_simplify(net, masks, [torch.ones(2)], None, 10)
    with pytest.raises(ValueError, match="values lacks"):
        input_inclusion(net, {})


# ----------------------------------------------------------------------------- sparsify is generic
# parameter names (and module attributes) of the networks in bsdl.nn
# (an f-string's literal parts end at the dot: "recurrent_layers." of f"recurrent_layers.{l}")
_NAME = re.compile(r"\b(linears|input_layers|recurrent_layers|head|skip)\.(\d|weight|bias|\{|\Z)")
_ATTRS = {"linears", "input_layers", "recurrent_layers", "head", "skip", "cell", "hidden_size"}


def network_specific(source: str) -> list[str]:
    """Every string literal (docstrings and f-string parts included) of ``source`` that
    names a parameter of MLP or LagRNN, every attribute access to their sub-modules, and
    every import of a particular network module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [f"line {node.lineno}: {m.group(0)!r}" for m in _NAME.finditer(node.value)]
            if node.value in _ATTRS:  # a bare sub-module name, e.g. a prefix "linears"
                found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Attribute) and node.attr in _ATTRS:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module in ("bsdl.nn.rnn", "bsdl.nn.mlp"):
            found.append(f"line {node.lineno}: from {node.module}")
    return found


def test_the_check_finds_network_names():
    # the check itself can fail: it flags what sparsify used to contain
    source = (
        "from bsdl.nn.rnn import CELLS\n"
        "def f(module, masks, l):\n"
        '    a = masks["head.weight"]; b = masks[f"recurrent_layers.{l}.weight"]\n'
        '    return module.linears, "prefix: linears.0.bias", "input_layers"\n'
    )
    assert len(network_specific(source)) == 6


@pytest.mark.parametrize("path", sorted(SPARSIFY_DIR.glob("*.py")), ids=lambda p: p.name)
def test_sparsify_names_no_network_parameter(path):
    assert network_specific(path.read_text()) == []
