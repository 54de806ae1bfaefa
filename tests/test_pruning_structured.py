"""Structured pruning: the group spike-and-slab prior against scipy's densities and autograd,
the exact number of pruned groups, export that shrinks units, heads and recurrent units with
the masked outputs kept, and k-of-n block patterns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _pruning_helpers import data, run
from scipy import stats
from torch import nn

from bsdl import MixtureGaussianPrior
from bsdl.pruning import GMP, MGPP, StructuredGMP, StructuredMGPP, default_mgpp_prior, export
from bsdl.pruning.export_structured import PrunedMultiheadAttention
from bsdl.pruning.group_prior import GroupMixtureGaussianPrior
from bsdl.pruning.groups import find_groups


# ---------------------------------------------------------------------------- the group prior
@pytest.mark.parametrize(
    "prior",
    [
        MixtureGaussianPrior(0.1, 0.01, 1.0),
        MixtureGaussianPrior(1e-4, 0.05, 0.5),
        default_mgpp_prior(),
    ],  # fmt: skip
)
@pytest.mark.parametrize("m", [1, 3, 64])
def test_group_inclusion_probability_against_chi_square_densities(prior, m):
    gp = GroupMixtureGaussianPrior(prior)
    t2 = gp.threshold(m) ** 2
    r = np.array([0.3, 0.9, 0.99, 1.0, 1.01, 1.1, 3.0]) * t2
    # ||w||^2 / sigma^2 ~ chi2_m under each component: density of r is chi2_m(r/s^2) / s^2
    l1, l0 = prior.lambda_, 1 - prior.lambda_
    s0, s1 = prior.sigma0, prior.sigma1
    log_slab = math.log(l1) + stats.chi2.logpdf(r / s1**2, m) - 2 * math.log(s1)
    log_spike = math.log(l0) + stats.chi2.logpdf(r / s0**2, m) - 2 * math.log(s0)
    expected = 1.0 / (1.0 + np.exp(log_spike - log_slab))
    got = gp.inclusion_probability(torch.tensor(r, dtype=torch.float64), m).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-12)
    assert got[3] == pytest.approx(0.5, abs=1e-9)  # the group threshold
    assert got[2] < 0.5 < got[4]
    if m == 1:
        assert gp.threshold(1) == pytest.approx(prior.threshold, rel=1e-12)
        w = torch.tensor(np.sqrt(r), dtype=torch.float64)
        np.testing.assert_allclose(got, prior.inclusion_probability(w).numpy(), rtol=1e-10)


def test_group_log_prob_against_the_product_of_normal_densities():
    prior = MixtureGaussianPrior(0.2, 0.05, 0.7)
    w = np.random.default_rng(0).normal(scale=0.1, size=(5, 7))
    slab = stats.norm.logpdf(w, scale=0.7).sum(1) + math.log(0.2)
    spike = stats.norm.logpdf(w, scale=0.05).sum(1) + math.log(0.8)
    got = GroupMixtureGaussianPrior(prior).log_prob(torch.tensor((w**2).sum(1)), 7)
    np.testing.assert_allclose(got.numpy(), np.logaddexp(slab, spike), rtol=1e-10)


# ---------------------------------------------------------------------------- a model zoo
class HFAttention(nn.Module):
    """The Hugging Face layout: q/k/v/o projections and a num_heads attribute."""

    def __init__(self, dim, heads):
        super().__init__()
        self.num_heads, self.head_dim = heads, dim // heads
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(dim, dim) for _ in "qkvo")

    def forward(self, x):
        B, T, _ = x.shape
        q, k, v = (
            p(x).view(B, T, self.num_heads, self.head_dim).transpose(1, 2)
            for p in (self.q_proj, self.k_proj, self.v_proj)
        )
        a = torch.softmax(q @ k.transpose(-1, -2) / self.head_dim**0.5, dim=-1) @ v
        return self.o_proj(a.transpose(1, 2).reshape(B, T, -1))


class Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 8)
        )
        self.attn = nn.MultiheadAttention(8, 4, batch_first=True)
        self.hf = HFAttention(8, 4)
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.ffn1, self.ffn2 = nn.Linear(16, 24), nn.Linear(24, 1)

    def forward(self, x):
        h = self.mlp(x)
        h = h + self.attn(h, h, h, need_weights=False)[0]
        h = h + self.hf(h)
        h, _ = self.lstm(h)
        return self.ffn2(torch.relu(self.ffn1(h)))


LINKS = {"lstm": "ffn1", "ffn1": "ffn2"}
# units 32 + 32, heads 4 + 4, LSTM units 16, feed-forward units 24
N_GROUPS = 112


def zoo_task(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(128, 5, 6, generator=g)
    y = X[..., :2].sum(-1, keepdim=True).cumsum(1)
    torch.manual_seed(seed)
    return Zoo(), X, y, g


def train_zoo(cls, steps=40, **kw):
    model, X, y, g = zoo_task()
    if cls is StructuredMGPP:
        kw.setdefault("n_obs", len(X))
    pruner = cls(model, 0.5, steps, links=LINKS, final_warmup=10, pruning_interval=5, **kw)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    run(model, pruner, steps, opt, X, y, g)
    return model, pruner, X


def test_groups_found_in_the_zoo():
    fams = find_groups(Zoo(), links=LINKS)
    got = [(f.kind, f.name, f.n_groups, f.size) for f in fams]
    assert got == [
        ("unit", "mlp.0", 32, 6 + 32),
        ("unit", "mlp.2", 32, 32 + 8),
        ("unit", "ffn1", 24, 16 + 1),
        ("head", "attn", 4, 3 * 2 * 8 + 8 * 2),
        ("head", "hf", 4, 3 * 2 * 8 + 8 * 2),
        # 4 gate rows of 8 inputs and of 16 hidden weights, the hidden column (4 * 16, of
        # which the unit's own 4 gate entries are already counted) and the ffn1 column
        ("rnn_unit", "lstm.l0", 16, 4 * 8 + 4 * 16 + (64 - 4) + 24),
    ]
    assert sum(f.n_groups for f in fams) == N_GROUPS


@pytest.mark.parametrize("cls", [StructuredGMP, StructuredMGPP])
@pytest.mark.parametrize("ranking", ["global", "per_family"])
def test_exact_group_sparsity_at_the_end_and_zeros_kept(cls, ranking):
    model, pruner, _ = train_zoo(cls, ranking=ranking)
    kept = pruner.group_masks()
    assert sum(int((~m).sum()) for m in kept.values()) == round(0.5 * N_GROUPS)
    if ranking == "per_family":  # each family loses half of its groups (rounded)
        assert all(int((~m).sum()) == round(0.5 * m.numel()) for m in kept.values())
    assert pruner.sparsity() == 0.5  # measured: groups whose weights are all exactly zero
    for f, m in zip(pruner.families, kept.values()):
        assert bool((f.sq_norms()[~m] == 0).all()) and bool((f.sq_norms()[m] > 0).all())
    assert pruner.metrics()["phase"] == "finetune"


def test_structured_mgpp_without_prior_is_structured_gmp():
    _, a, _ = train_zoo(StructuredGMP)
    _, b, _ = train_zoo(StructuredMGPP, prior_weight=0.0)
    for (ka, ma), (kb, mb) in zip(a.group_masks().items(), b.group_masks().items()):
        assert ka == kb and torch.equal(ma, mb)


def test_structured_mgpp_gradient_is_that_of_the_group_prior():
    model, X, _, _ = zoo_task()
    prior = MixtureGaussianPrior(0.1, 0.05, 0.5)
    pruner = StructuredMGPP(model, 0.5, 20, n_obs=50, prior=prior, links=LINKS, initial_warmup=3)
    for p in model.parameters():
        p.grad = None
    pruner.before_step()  # step 0, warm-up: lambda_t = prior.lambda_
    got = {n: p.grad.clone() for n, p in zip(pruner.targets, pruner._params)}
    params = list(pruner._params)
    gp = GroupMixtureGaussianPrior(prior)
    total = 0.0
    for f in pruner.families:  # -(1/n) sum over groups of log pi(w_g), overlaps included
        sq = sum(p.reshape(-1)[idx].pow(2).sum(1) for p, idx in zip(f.params, f.index))
        total = total - gp.log_prob(sq, f.size).sum() / 50
    grads = torch.autograd.grad(total, params)
    for name, g in zip(pruner.targets, grads):
        torch.testing.assert_close(got[name], g, rtol=1e-4, atol=1e-6)


def test_state_dict_restores_the_group_masks():
    model, pruner, _ = train_zoo(StructuredGMP, steps=40)
    other = StructuredGMP(model, 0.5, 40, links=LINKS, final_warmup=10, pruning_interval=5)
    other.load_state_dict(pruner.state_dict())
    for a, b in zip(pruner.group_masks().values(), other.group_masks().values()):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------- export
def test_export_shrinks_units_heads_and_recurrent_units_with_the_same_outputs():
    model, pruner, X = train_zoo(StructuredMGPP, ranking="per_family")
    model.eval()
    small = export(model, csr="never", links=LINKS)
    with torch.no_grad():
        torch.testing.assert_close(small(X), model(X), rtol=1e-5, atol=1e-5)
    m = small.module
    assert isinstance(m.attn, PrunedMultiheadAttention) and m.attn.num_heads == 2
    assert m.hf.num_heads == 2 and m.hf.q_proj.weight.shape == (4, 8)
    assert m.hf.o_proj.weight.shape == (8, 4)
    assert m.lstm.hidden_size == 8 and m.ffn1.weight.shape == (12, 8)
    assert m.ffn2.weight.shape == (1, 12)
    shapes = {r["name"]: r["shape_after"] for r in small.report.layers}
    assert shapes["mlp.0"][0] == 16 and shapes["mlp.2"] == [16, 16]
    assert small.report.params_after < 0.6 * small.report.params_before
    kinds = sorted(r["kind"] for r in small.report.structures)
    assert kinds == ["head", "head", "rnn_unit", "unit"]


def test_export_of_a_transformer_encoder_layer():
    torch.manual_seed(1)
    layer = nn.TransformerEncoderLayer(8, 4, dim_feedforward=16, batch_first=True)
    links = {"linear1": "linear2"}
    g = torch.Generator().manual_seed(1)
    X = torch.randn(32, 6, 8, generator=g)
    pruner = StructuredGMP(layer, 0.5, 10, links=links, ranking="per_family", pruning_interval=3)
    opt = torch.optim.Adam(layer.parameters(), lr=1e-2)
    run(layer, pruner, 10, opt, X, X.flip(1), g)
    layer.eval()
    small = export(layer, csr="never", links=links)
    assert small.module.self_attn.num_heads == 2 and small.module.linear1.out_features == 8
    mask = torch.ones(6, 6, dtype=torch.bool).triu(1)
    with torch.no_grad():
        torch.testing.assert_close(small(X), layer(X), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(
            small(X, src_mask=mask), layer(X, src_mask=mask), rtol=1e-5, atol=1e-5
        )


# ---------------------------------------------------------------------------- k-of-n blocks
@pytest.mark.parametrize("cls", [GMP, MGPP])
def test_k_of_n_pattern_holds_in_every_block(cls):
    X, y, g = data()
    X = torch.cat([X, X[:, :2]], dim=1)  # 12 inputs: blocks of 4
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    )
    kw = {"n_obs": len(X)} if cls is MGPP else {}
    pruner = cls(net, 0.5, 40, pattern=(2, 4), final_warmup=10, pruning_interval=5, **kw)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    seen = []

    def check(p):
        if p.global_step in (0, 5, 10):  # masks of the previous update, before re-applying
            seen.append([int(m.view(-1, 4).sum(1).max()) for m in p._pruned])

    run(net, pruner, 40, opt, X, y, g, on_step=check)
    for w in (net[0].weight, net[2].weight):
        zeros_per_block = (w.view(-1, 4) == 0).sum(dim=1)
        assert bool((zeros_per_block == 2).all())  # exactly 2 of every 4 kept
    assert pruner.sparsity() == 0.5
    # round(s(t) * 4) per block: s(0) = 0, then the cubic schedule rises
    assert seen[0] == [0, 0] and all(a <= b for a, b in zip(seen[1], seen[2]))


def test_pattern_and_structured_misuse():
    net = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1))
    with pytest.raises(ValueError, match="final_sparsity must be 0.5"):
        GMP(net, 0.6, 10, pattern=(2, 4))
    with pytest.raises(ValueError, match="pattern must be a pair"):
        GMP(net, 0.0, 10, pattern=(4, 4))
    with pytest.raises(ValueError, match="divisible by 8"):
        GMP(net, 0.5, 10, pattern=(4, 8), exclude_head=False)
    with pytest.raises(ValueError, match="finds no group"):
        StructuredGMP(nn.Sequential(nn.Linear(3, 1)), 0.5, 10)
    with pytest.raises(ValueError, match="links: producer 'nope'"):
        StructuredGMP(net, 0.5, 10, links={"nope": "2"})
    with pytest.raises(ValueError, match="links: consumer '1' is a ReLU"):
        StructuredGMP(net, 0.5, 10, links={"0": "1"})
    with pytest.raises(ValueError, match="ranking must be one of"):
        StructuredGMP(net, 0.5, 10, ranking="per_tensor")
    with pytest.raises(ValueError, match="groups must be 'auto'"):
        StructuredGMP(net, 0.5, 10, groups=["bogus"])
    with pytest.raises(ValueError, match="final_sparsity must be in"):
        StructuredMGPP(net, 1.0, 10, n_obs=5)
    with pytest.raises(ValueError, match="links: producer"):
        export(net, links={"x": "2"})
