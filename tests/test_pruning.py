"""bsdl.pruning: the cubic schedule, targets, exact final sparsity, MGPP against GMP and against
the prior's density, fixed masks under momentum and Adam, each pruner on a small task, the
engine callback against a manual loop, and resuming from a checkpoint (misuse:
test_pruning_bad_input.py)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from _pruning_helpers import PRUNERS, N, data, make_pruner, mlp, run, zeros
from torch import nn

from bsdl import MixtureGaussianPrior
from bsdl.inference import train
from bsdl.pruning import DPF, GMP, MGPP, PLATON, CubicSchedule, MovementPruning, select_targets


# ---------------------------------------------------------------------------- the schedule
@pytest.mark.parametrize(
    "total, s_i, s_f, iw, fw, interval",
    [
        (100, 0.0, 0.9, 10, 20, 7),
        (50, 0.3, 0.9, 0, 0, 1),
        (11, 0.1, 0.7, 2, 4, 3),
        (5, 0.0, 0.5, 4, 0, 2),
    ],
)
def test_cubic_schedule_end_points_monotone_and_steps(total, s_i, s_f, iw, fw, interval):
    sched = CubicSchedule(total, s_f, s_i, iw, fw, interval)
    t_i, t_end = iw, total - fw - 1
    values = [sched.sparsity(t) for t in range(total + 5)]
    assert values[:t_i] == [0.0] * t_i
    if t_i < t_end:
        assert values[t_i] == s_i  # exactly, not up to rounding
    assert all(v == s_f for v in values[t_end:])  # exactly, and kept afterwards
    assert all(a <= b for a, b in zip(values, values[1:]))  # monotone
    if (t_end - t_i) % 2 == 0 and t_end > t_i:  # half way: (1 - 1/2)^3 = 1/8 of the gap left
        mid = sched.sparsity((t_i + t_end) // 2)
        assert mid == pytest.approx(s_f + (s_i - s_f) / 8, abs=1e-12)
    steps = [t for t in range(total + 5) if sched.prunes_at(t)]
    assert steps == sorted({*range(t_i, t_end + 1, interval), t_end})
    assert [sched.phase(t) for t in (t_i - 1, t_i, t_end, t_end + 1) if t >= 0][-2:] == [
        "pruning",
        "finetune",
    ]


def test_schedule_counts_round_to_nearest():
    sched = CubicSchedule(10, 0.9)
    assert sched.n_pruned(9, 1000) == 900
    assert sched.n_pruned(9, 7) == 6  # 6.3 -> 6
    assert CubicSchedule(10, 0.5).n_pruned(9, 3) == 2  # 1.5 rounds half up


# ---------------------------------------------------------------------------- targets
class Zoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 8, batch_first=True)
        self.gru = nn.GRU(8, 8, batch_first=True, bidirectional=True)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.norm = nn.LayerNorm(16)
        self.ff = nn.Linear(16, 16)
        self.frozen = nn.Linear(16, 16)
        self.frozen.requires_grad_(False)
        self.head = nn.Linear(16, 3)


def test_default_targets_skip_biases_embeddings_norms_head_and_frozen():
    names = [n for n, _ in select_targets(Zoo())]
    assert names == [
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
        "gru.weight_ih_l0",
        "gru.weight_hh_l0",
        "gru.weight_ih_l0_reverse",
        "gru.weight_hh_l0_reverse",
        "attn.in_proj_weight",
        "attn.out_proj.weight",
        "ff.weight",
    ]
    with_head = [n for n, _ in select_targets(Zoo(), exclude_head=False)]
    assert with_head[-1] == "head.weight" and len(with_head) == len(names) + 1


def test_targets_by_type_pattern_and_exclude():
    zoo = Zoo()
    assert [n for n, _ in select_targets(zoo, targets=nn.LSTM)] == [
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
    ]
    assert [n for n, _ in select_targets(zoo, targets=["emb.*", "re:^head\\."])] == [
        "emb.weight",
        "head.weight",
        "head.bias",
    ]
    got = [n for n, _ in select_targets(zoo, exclude=["gru.*", "attn.*"])]
    assert got == ["lstm.weight_ih_l0", "lstm.weight_hh_l0", "ff.weight"]


class SeqNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 16, batch_first=True)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        h = self.lstm(x)[0]
        h = self.norm(h + self.attn(h, h, h, need_weights=False)[0])
        return self.head(h[:, -1])


@pytest.mark.parametrize("cls", PRUNERS)
def test_recurrent_and_attention_weights_are_pruned_in_place(cls):
    torch.manual_seed(11)
    model = SeqNet()
    g = torch.Generator().manual_seed(11)
    X = torch.randn(64, 6, 4, generator=g)
    y = X[:, -3:, 0].sum(1, keepdim=True)
    pruner = make_pruner(cls, model, 0.7, 30, final_warmup=5, pruning_interval=5)
    loss = run(model, pruner, 30, torch.optim.Adam(model.parameters(), lr=1e-2), X, y, g)
    targeted = [p for n, p in model.named_parameters() if n in pruner.targets]
    assert pruner.targets == [
        "lstm.weight_ih_l0",
        "lstm.weight_hh_l0",
        "attn.in_proj_weight",
        "attn.out_proj.weight",
    ]
    n = sum(p.numel() for p in targeted)
    assert abs(zeros(targeted) - 0.7 * n) <= len(targeted)
    assert math.isfinite(loss)


# ---------------------------------------------------------------------------- exact sparsity
@pytest.mark.parametrize("cls", PRUNERS)
@pytest.mark.parametrize("ranking", ["global", "per_tensor"])
def test_final_sparsity_within_one_weight_per_tensor(cls, ranking):
    X, y, g = data()
    model = mlp(width=13)  # 130 + 169 targeted weights: s * n is never an integer here
    pruner = make_pruner(
        cls, model, 0.83, 40, initial_warmup=5, pruning_interval=4, ranking=ranking
    )
    run(model, pruner, 40, torch.optim.Adam(model.parameters(), lr=1e-2), X, y, g)
    params = [model[0].weight, model[2].weight]
    n = sum(p.numel() for p in params)
    assert abs(zeros(params) - 0.83 * n) <= len(params)
    if ranking == "per_tensor":
        for p in params:
            assert abs(zeros([p]) - 0.83 * p.numel()) <= 1
    assert pruner.sparsity() == zeros(params) / n
    assert model[4].weight.ne(0).all()  # the head is not pruned
    masks = pruner.masks
    assert list(masks) == ["0.weight", "2.weight"]
    for mask, p in zip(masks.values(), params):
        assert (p[~mask] == 0).all()


# ---------------------------------------------------------------------------- MGPP
@pytest.mark.parametrize("slab_center", ["zero", "initial"])
def test_mgpp_with_prior_weight_zero_is_gmp(slab_center):
    results = []
    mgpp = {"n_obs": N, "prior_weight": 0.0, "slab_center": slab_center}
    for cls, kw in ((GMP, {}), (MGPP, mgpp)):
        X, y, g = data(1)
        model = mlp(1)
        pruner = cls(model, 0.9, 60, initial_warmup=10, pruning_interval=5, **kw)
        run(model, pruner, 60, torch.optim.Adam(model.parameters(), lr=1e-2), X, y, g)
        results.append((pruner.masks, [p.detach().clone() for p in model.parameters()]))
    (m_gmp, w_gmp), (m_mgpp, w_mgpp) = results
    for name in m_gmp:
        assert torch.equal(m_gmp[name], m_mgpp[name])
    for a, b in zip(w_gmp, w_mgpp):
        assert torch.equal(a, b)


def test_mgpp_prior_changes_the_masks():
    masks = []
    for cls, kw in ((GMP, {}), (MGPP, {"n_obs": N})):
        X, y, g = data(1)
        model = mlp(1)
        pruner = cls(model, 0.9, 60, initial_warmup=10, pruning_interval=5, **kw)
        run(model, pruner, 60, torch.optim.Adam(model.parameters(), lr=1e-2), X, y, g)
        masks.append(pruner.masks["0.weight"])
    assert not torch.equal(*masks)


def _neg_log_prior(w, lam, sigma0, sigma1):
    """-log pi(w) from the two normal densities (independent of MixtureGaussianPrior)."""
    slab = torch.distributions.Normal(0.0, sigma1).log_prob(w) + math.log(lam)
    spike = torch.distributions.Normal(0.0, sigma0).log_prob(w) + math.log1p(-lam)
    return -torch.logaddexp(slab, spike).sum()


@pytest.mark.parametrize("step", [0, 7, 14, 30])
def test_mgpp_adds_the_annealed_prior_gradient_to_targets_only(step):
    prior = MixtureGaussianPrior(lambda_=0.2, sigma0=0.05, sigma1=1.0)
    total, t_i, fw, n_obs = 32, 4, 10, 50
    model = mlp(2, width=6)
    pruner = MGPP(
        model,
        0.5,
        total,
        n_obs,
        prior=prior,
        initial_warmup=t_i,
        final_warmup=fw,
        lambda_anneal=(0.5, 0.01),
        prior_weight=2.0,
    )
    pruner.global_step = step
    X, y, _ = data()
    model.zero_grad()
    (model(X) - y).pow(2).mean().backward()
    before = [p.grad.clone() for p in model.parameters()]
    pruner.before_step()
    t_end = total - fw - 1
    if step < t_i:
        a = 1.0
    elif step <= t_end:
        a = 0.01 + (0.5 - 0.01) * (1 - (step - t_i) / (t_end - t_i))
    else:
        a = None  # no prior in the fine-tuning phase
    for (name, p), g0 in zip(model.named_parameters(), before):
        added = p.grad - g0
        if a is None or name not in ("0.weight", "2.weight"):
            assert torch.equal(added, torch.zeros_like(added)), name
            continue
        w = p.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(_neg_log_prior(w, 0.2 * a, 0.05, 1.0), w)
        torch.testing.assert_close(added, 2.0 * grad / n_obs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("step", [0, 14])
def test_mgpp_centred_slab_adds_the_gradient_of_its_density(step):
    prior = MixtureGaussianPrior(lambda_=0.2, sigma0=0.05, sigma1=1.0)
    model = mlp(2, width=6)
    pruner = MGPP(
        model, 0.5, 32, 50, prior=prior, initial_warmup=4, final_warmup=10,
        slab_center="initial",
    )  # fmt: skip
    centers = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():  # move away from the centres, some weights into the spike's range
        for p in model.parameters():
            p.mul_(0.5).add_(
                0.05 * torch.randn(p.shape, generator=torch.Generator().manual_seed(3))
            )
    pruner.global_step = step
    X, y, _ = data()
    model.zero_grad()
    (model(X) - y).pow(2).mean().backward()
    before = [p.grad.clone() for p in model.parameters()]
    pruner.before_step()
    lam = pruner.lambda_at(step)
    for (name, p), g0 in zip(model.named_parameters(), before):
        added = p.grad - g0
        if name not in ("0.weight", "2.weight"):
            assert torch.equal(added, torch.zeros_like(added)), name
            continue
        w = p.detach().clone().requires_grad_(True)
        slab = torch.distributions.Normal(centers[name], 1.0).log_prob(w) + math.log(lam)
        spike = torch.distributions.Normal(0.0, 0.05).log_prob(w) + math.log1p(-lam)
        (grad,) = torch.autograd.grad(-torch.logaddexp(slab, spike).sum(), w)
        torch.testing.assert_close(added, grad / 50, rtol=1e-5, atol=1e-8)


def _fine_tune_pretrained(slab_center):
    """A 'pretrained' Linear(40, 1) (20 weights of size 0.5-1, 20 below 0.05) fine-tuned on
    n = 30 points of its own task, pruned to 50 % (GMP when slab_center is None)."""
    g = torch.Generator().manual_seed(0)
    sign = torch.sign(torch.randn(40, generator=g))
    w_pre = torch.cat([0.5 + 0.5 * torch.rand(20, generator=g), 0.05 * torch.rand(20, generator=g)])
    w_pre = w_pre * sign
    model = nn.Sequential(nn.Linear(40, 1))
    with torch.no_grad():
        model[0].weight.copy_(w_pre[None])
        model[0].bias.zero_()
    n, steps = 30, 120
    X = torch.randn(n, 40, generator=g)
    y = X @ w_pre[:, None] + 0.1 * torch.randn(n, 1, generator=g)
    kw = dict(initial_warmup=10, final_warmup=40, pruning_interval=5, exclude_head=False)
    if slab_center is None:
        pruner = GMP(model, 0.5, steps, **kw)
    else:
        pruner = MGPP(model, 0.5, steps, n_obs=n, slab_center=slab_center, **kw)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        idx = torch.randint(0, n, (10,), generator=g)
        opt.zero_grad()
        (model(X[idx]) - y[idx]).pow(2).mean().backward()
        pruner.before_step()
        opt.step()
        pruner.after_step()
    return model[0].weight.detach()[0]


def test_mgpp_centred_slab_keeps_pretrained_weights_when_fine_tuning_on_few_points():
    # With n = 30 the default slab (sigma1^2 = 0.05) adds w / (n sigma1^2) = w / 1.5 to the
    # gradient; the data term near its optimum is about 2 (w - w*), so a zero-centred slab
    # settles near w* * 2 / (2 + 1/1.5) = 0.75 w* (a relative change of ~0.25 against GMP).
    # Centred at the pretrained weights the slab's pull vanishes at w*, and the kept weights
    # follow GMP's fine-tuned ones up to the minibatch noise (a few per cent here).
    gmp = _fine_tune_pretrained(None)
    for center, lo, hi in (("initial", 0.0, 0.05), ("zero", 0.15, math.inf)):
        w = _fine_tune_pretrained(center)
        keep = (gmp != 0) & (w != 0)
        assert int(keep.sum()) >= 18, center  # the same 20 large weights (about) survive
        change = float((w[keep] - gmp[keep]).norm() / gmp[keep].norm())
        assert lo <= change < hi, (center, change)


def test_mgpp_slab_center_is_checked_and_saved():
    model = mlp(1)
    with pytest.raises(ValueError, match="slab_center"):
        MGPP(model, 0.5, 20, n_obs=N, slab_center="pretrained")
    pruner = MGPP(model, 0.5, 20, n_obs=N, slab_center="initial")
    state = pruner.state_dict()
    assert torch.equal(state["center"]["0.weight"], model[0].weight)
    zero = MGPP(model, 0.5, 20, n_obs=N)
    assert zero.state_dict()["center"] is None
    old_state = {k: v for k, v in zero.state_dict().items() if k != "center"}
    zero.load_state_dict(old_state)  # saved before slab_center existed
    with pytest.raises(ValueError, match="lacks 'center'"):
        pruner.load_state_dict(old_state)


# ---------------------------------------------------------------------------- fixed masks
@pytest.mark.parametrize("cls", PRUNERS)
@pytest.mark.parametrize("optim", ["sgd_momentum", "adamw"])
def test_pruned_weights_stay_exactly_zero_through_fine_tuning(cls, optim):
    X, y, g = data(2)
    model = mlp(3)
    if optim == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-3)
    pruner = make_pruner(
        cls, model, 0.8, 80, sgd=optim != "adamw", initial_warmup=5, final_warmup=40
    )
    run(model, pruner, 40, opt, X, y, g)  # steps 0..39: pruning ends at t_end = 39
    assert pruner.metrics()["phase"] == "finetune"
    fixed = pruner.masks
    kept_before = {n: p.detach().clone() for n, p in model.named_parameters()}
    moved_by_optimiser = []

    def check(pr):  # after optimizer.step(), before after_step()
        w = model[0].weight.detach()
        moved_by_optimiser.append(bool((w[~fixed["0.weight"]] != 0).any()))

    run(model, pruner, 40, opt, X, y, g, on_step=check)
    params = dict(model.named_parameters())
    for name, mask in fixed.items():
        assert torch.equal(pruner.masks[name], mask)
        assert (params[name][~mask] == 0).all()
        assert not torch.equal(params[name][mask], kept_before[name][mask])  # still training
    # the optimiser's momentum does move pruned weights; only the pruner puts them back
    assert any(moved_by_optimiser)


# ---------------------------------------------------------------------------- a small task
@pytest.mark.parametrize("cls", PRUNERS)
def test_each_pruner_learns_a_sparse_task_at_the_target_sparsity(cls):
    X, y, g = data(4)
    model = mlp(4)
    pruner = make_pruner(cls, model, 0.9, 300, initial_warmup=50, final_warmup=100)
    loss = run(model, pruner, 300, torch.optim.Adam(model.parameters(), lr=1e-2), X, y, g)
    targeted = [model[0].weight, model[2].weight]
    n = sum(p.numel() for p in targeted)
    assert abs(zeros(targeted) - 0.9 * n) <= 2
    assert math.isfinite(loss)
    # y has variance 1 + 4 + 2.25 + 0.01: a net that learned the three inputs explains 95 %
    assert loss < 0.05 * float(y.var())


# ---------------------------------------------------------------------------- DPF, scores
def test_dpf_steps_the_dense_weights_with_the_pruned_gradient():
    X, y, g = data(5)
    model = mlp(5, width=8)
    pruner = DPF(model, 0.5, 20, initial_warmup=2, pruning_interval=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    run(model, pruner, 6, opt, X, y, g)  # pruning began at step 2
    w0 = model[0].weight
    mask = pruner.masks["0.weight"]
    dense = pruner._dense[0].clone()
    assert (w0[~mask] == 0).all() and (dense[~mask] != 0).all()
    idx = torch.arange(32)
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    fn = torch.func.functional_call
    grad = torch.func.grad(
        lambda w: (fn(model, {**params, "0.weight": w}, X[idx]) - y[idx]).pow(2).mean()
    )
    expected = dense - 0.05 * grad(dense * mask)  # w <- w - lr * g(m * w)
    opt.zero_grad()
    (model(X[idx]) - y[idx]).pow(2).mean().backward()
    pruner.before_step()
    opt.step()
    stepped = model[0].weight.detach().clone()
    torch.testing.assert_close(stepped, expected)
    pruner.after_step()  # no mask update at step 6: the dense copy moves, the model is pruned
    assert torch.equal(pruner._dense[0], stepped)
    assert torch.equal(model[0].weight.detach(), stepped * mask)


def test_dpf_lets_pruned_weights_come_back():
    X, y, g = data(6)
    model = mlp(6)
    pruner = DPF(model, 0.9, 200, initial_warmup=10, final_warmup=50, pruning_interval=5)
    history = []
    run(
        model,
        pruner,
        150,
        torch.optim.Adam(model.parameters(), lr=1e-2),
        X,
        y,
        g,
        on_step=lambda pr: history.append(pr.masks["0.weight"]),
    )
    revived = any((~a & b).any() for a, b in zip(history, history[1:]))
    assert revived
    others = GMP(mlp(6), 0.9, 200, initial_warmup=10, final_warmup=50, pruning_interval=5)
    assert not others.regrow


def test_movement_scores_accumulate_minus_w_times_g():
    X, y, g = data(7)
    model = mlp(7, width=6)
    pruner = MovementPruning(model, 0.5, 10, initial_warmup=8)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    expected = torch.zeros_like(model[0].weight)

    def add(pr):  # after the optimiser step the gradient is still the one of this step
        nonlocal expected
        expected = expected - w_before[-1] * model[0].weight.grad

    w_before = []
    for _ in range(5):
        w_before.append(model[0].weight.detach().clone())
        run(model, pruner, 1, opt, X, y, g, on_step=add)
    torch.testing.assert_close(pruner._score[0], expected)


def test_platon_scores_by_hand():
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 1))
    pruner = PLATON(model, 0.5, 10, exclude_head=True, beta1=0.5, beta2=0.75)
    w = model[0].weight
    ibar = unc = 0.0
    for value, grad in ((2.0, 0.5), (1.0, -3.0)):  # importances 1 and 3
        with torch.no_grad():
            w.fill_(value)
        w.grad = torch.tensor([[grad]])
        pruner.before_step()
        pruner._pending = False
        i = abs(value * grad)
        ibar = 0.5 * ibar + 0.5 * i
        unc = 0.75 * unc + 0.25 * abs(i - ibar)
    # by hand: Ibar = 0.5, U = 0.125; then Ibar = 1.75, U = 0.09375 + 0.3125 = 0.40625
    assert (ibar, unc) == (1.75, 0.40625)
    assert float(pruner._scores()[0]) == pytest.approx(1.75 * 0.40625)


# ---------------------------------------------------------------------------- engine
@pytest.mark.parametrize("cls", [GMP, MGPP, DPF, PLATON])
def test_engine_callback_equals_manual_loop(cls):
    X, y, _ = data(8)
    n_epochs, batch = 6, 32
    total = n_epochs * (N // batch)
    kw = dict(initial_warmup=8, final_warmup=12, pruning_interval=4)

    def loss_fn(m, xb, yb):
        return (m(xb) - yb).pow(2).mean()

    engine_model = mlp(9)
    engine_pruner = make_pruner(cls, engine_model, 0.8, total, sgd=True, **kw)
    history = train(
        engine_model,
        loss_fn,
        X,
        y,
        n_epochs=n_epochs,
        batch_size=batch,
        lr=0.05,
        optimizer="sgd",
        optimizer_options={"momentum": 0.9},
        generator=torch.Generator().manual_seed(3),
        callbacks=[engine_pruner],
    )
    manual_model = mlp(9)
    manual_pruner = make_pruner(cls, manual_model, 0.8, total, sgd=True, **kw)
    opt = torch.optim.SGD(manual_model.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(3)
    for _ in range(n_epochs):  # the engine's minibatch order: one randperm per epoch
        perm = torch.randperm(N, generator=gen)
        for i in range(N // batch):
            idx = perm[i * batch : (i + 1) * batch]
            opt.zero_grad()
            loss_fn(manual_model, X[idx], y[idx]).backward()
            manual_pruner.before_step()
            opt.step()
            manual_pruner.after_step()
    for name, mask in engine_pruner.masks.items():
        assert torch.equal(mask, manual_pruner.masks[name])
    for a, b in zip(engine_model.parameters(), manual_model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert engine_pruner.global_step == total
    assert history[-1]["pruning_sparsity"] == engine_pruner.sparsity()
    assert engine_pruner.sparsity() == pytest.approx(0.8, abs=2 / (10 * 32 + 32 * 32))


def test_engine_checks_the_module_and_the_step_count():
    X, y, _ = data()
    pruner = GMP(mlp(), 0.5, 100)

    def loss_fn(m, xb, yb):
        return (m(xb) - yb).pow(2).mean()

    with pytest.raises(ValueError, match="build the pruner on the module"):
        train(
            mlp(),
            loss_fn,
            X,
            y,
            n_epochs=1,
            batch_size=64,
            lr=0.01,
            generator=torch.Generator().manual_seed(0),
            callbacks=[pruner],
        )
    model = mlp()
    with pytest.warns(UserWarning, match="takes 4 steps but the pruner's schedule has 100"):
        train(
            model,
            loss_fn,
            X,
            y,
            n_epochs=1,
            batch_size=64,
            lr=0.01,
            generator=torch.Generator().manual_seed(0),
            callbacks=[GMP(model, 0.5, 100)],
        )


@pytest.mark.parametrize("cls", [DPF, PLATON, MGPP])
def test_resuming_from_a_checkpoint_equals_an_uninterrupted_run(cls):
    kw = dict(initial_warmup=5, final_warmup=10, pruning_interval=3)

    def setup():
        model = mlp(10)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        return model, make_pruner(cls, model, 0.8, 60, **kw), opt

    X, y, g = data(10)
    model, pruner, opt = setup()
    run(model, pruner, 12, opt, X, y, g)  # DPF: inside the phase with a dense copy
    saved = (copy.deepcopy(model.state_dict()), copy.deepcopy(opt.state_dict()))
    pruner_state, g2 = pruner.state_dict(), torch.Generator().set_state(g.get_state())
    resumed_model, resumed, resumed_opt = setup()
    resumed_model.load_state_dict(saved[0])
    resumed_opt.load_state_dict(saved[1])
    resumed.load_state_dict(pruner_state)
    for steps in (28, 20):  # to step 40 (still pruning), then to the end
        run(model, pruner, steps, opt, X, y, g)
        run(resumed_model, resumed, steps, resumed_opt, X, y, g2)
        for a, b in zip(model.parameters(), resumed_model.parameters()):
            assert torch.equal(a, b)
        for key, value in pruner.state_dict().items():
            other = resumed.state_dict()[key]
            if isinstance(value, dict):
                assert all(torch.equal(value[n], other[n]) for n in value), key
            else:
                assert value == other, key
    assert resumed.global_step == 60
    with pytest.raises(ValueError, match="state lacks 'pruned'"):
        resumed.load_state_dict({"global_step": 3})
