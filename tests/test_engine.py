"""Tests of the training engine (``bsdl.inference``): driver, kernels, flat buffer, schedules.

Everything here works on tiny networks (a few dozen weights, a few dozen samples) so the
whole file runs in a couple of seconds. Expected values are written out by hand from the
update rules in DESIGN.md, independently of the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from bsdl import MixtureGaussianPrior
from bsdl.exceptions import TrainingDivergedError
from bsdl.inference import (
    SGD,
    SGHMC,
    Adam,
    ConstantSchedule,
    PriorAnnealing,
    ScheduleState,
    make_kernel,
    train,
)
from bsdl.inference.flat import FlatParameters
from bsdl.nn import unpenalized_names
from bsdl.sparsify import threshold_masks


# ----------------------------------------------------------------------------- helpers
def _mse(module, x, y):
    return 0.5 * (module(x).squeeze(-1) - y).pow(2).mean()


def _zero_data_loss(module, x, y):
    """A loss whose gradient is exactly zero but which still builds a graph."""
    return 0.0 * module(x).sum()


def _net(seed: int = 0, n_in: int = 3, hidden: int = 4) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    return net


def _data(n: int = 40, n_in: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, n_in, generator=g)
    y = torch.sin(x[:, 0]) + 0.5 * x[:, 1] + 0.1 * torch.randn(n, generator=g)
    return x, y


def _copy(net: nn.Module) -> nn.Module:
    clone = _net(99, net[0].in_features, net[0].out_features)
    clone.load_state_dict(net.state_dict())
    return clone


def _flat(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def _train(net, x, y, *, seed=0, **kwargs):
    options = dict(
        prior=None,
        schedule=ConstantSchedule(prior_weight=0.0),
        n_epochs=5,
        batch_size=10,
        lr=1e-2,
        generator=torch.Generator().manual_seed(seed),
        optimizer="sgd",
    )
    loss_fn = kwargs.pop("loss_fn", _mse)
    options.update(kwargs)
    return train(net, loss_fn, x, y, **options)


def _one_prior_step(net, x, y, prior, lr):
    """One full-batch plain-SGD step (no momentum) on a zero data gradient: the prior only."""
    _train(
        net,
        x,
        y,
        loss_fn=_zero_data_loss,
        prior=prior,
        schedule=ConstantSchedule(),
        optimizer="sgd",
        optimizer_options={"momentum": 0.0},
        lr=lr,
        batch_size=x.shape[0],
        n_epochs=1,
    )


# ----------------------------------------------------------------------------- driver
def test_train_returns_one_history_row_per_epoch():
    x, y = _data()
    net = _net()
    hist = _train(net, x, y, n_epochs=7)
    assert len(hist) == 7
    assert [row["epoch"] for row in hist] == list(range(1, 8))
    for key in ("phase", "loss", "prior_weight", "sigma0", "temperature", "sparsity"):
        assert key in hist[0]
    # full-batch-ish SGD on a smooth problem: the loss goes down
    assert hist[-1]["loss"] < hist[0]["loss"]


def test_epoch_loss_is_the_mean_over_samples_not_over_batches():
    # 41 samples in batches of 10: the last batch holds one sample. With lr = 0 the
    # weights never move, so the epoch loss must equal the full-data mean loss exactly
    # (the unweighted mean of batch means would give the lone sample 10 times its weight).
    x, y = _data(n=41)
    y = y.clone()
    y[-1] += 50.0  # make the lone last sample's loss dominate an unweighted average
    net = _net()
    with torch.no_grad():
        full = float(_mse(net, x, y))
    hist = _train(net, x, y, n_epochs=1, lr=0.0, batch_size=10)
    # float32 sums of 41 terms: relative error far below 1e-5
    assert hist[0]["loss"] == pytest.approx(full, rel=1e-5)


def test_diverging_training_raises_training_diverged_error():
    x, y = _data()
    net = _net()
    with pytest.raises(TrainingDivergedError, match="epoch"):
        _train(net, x, y, lr=1e6, n_epochs=20)
    # even after the error, the flat buffer was released
    for p in net.parameters():
        assert p.grad is None


def test_train_rejects_mismatched_lengths():
    x, y = _data()
    with pytest.raises(ValueError, match="length"):
        _train(_net(), x, y[:-1])


def test_positive_temperature_needs_a_sampler():
    x, y = _data()
    with pytest.raises(ValueError, match="temperature"):
        _train(_net(), x, y, optimizer="adam", schedule=ConstantSchedule(temperature=0.1))
    with pytest.raises(ValueError, match="temperature"):
        _train(_net(), x, y, optimizer="sgd", schedule=ConstantSchedule(temperature=0.1))


def test_unknown_optimizer_raises():
    x, y = _data()
    with pytest.raises(ValueError, match="optimizer"):
        _train(_net(), x, y, optimizer="foo")


def test_mask_keeps_pruned_weights_exactly_zero():
    x, y = _data()
    net = _net()
    n_params = sum(p.numel() for p in net.parameters())
    mask = (torch.arange(n_params) % 3 != 0).float()  # prune every third weight
    before = _flat(net)
    prior = MixtureGaussianPrior(lambda_=1e-3, sigma0=0.05, sigma1=1.0)
    for optimizer in ("adam", "sghmc"):
        schedule = ConstantSchedule(temperature=0.05 if optimizer == "sghmc" else 0.0)
        _train(
            net, x, y, prior=prior, schedule=schedule, optimizer=optimizer, mask=mask, n_epochs=10
        )
        after = _flat(net)
        assert torch.all(after[mask == 0] == 0.0)
        # the kept weights did move
        assert not torch.equal(after[mask == 1], before[mask == 1])


def test_sghmc_at_temperature_zero_equals_sgd_exactly():
    x, y = _data()
    prior = MixtureGaussianPrior(lambda_=1e-2, sigma0=0.05, sigma1=1.0)
    nets = {}
    for optimizer in ("sgd", "sghmc"):
        net = _net(3)
        _train(
            net,
            x,
            y,
            optimizer=optimizer,
            prior=prior,
            schedule=PriorAnnealing(temperature=0.0),
            n_epochs=10,
            seed=7,
        )
        nets[optimizer] = _flat(net)
    assert torch.equal(nets["sgd"], nets["sghmc"])
    # ... and a positive temperature does change the trajectory (so the test can fail)
    hot = _net(3)
    _train(
        hot,
        x,
        y,
        optimizer="sghmc",
        prior=prior,
        schedule=PriorAnnealing(temperature=0.1),
        n_epochs=10,
        seed=7,
    )
    assert not torch.equal(_flat(hot), nets["sgd"])


def test_sgd_and_adam_kernels_match_torch_optimizers():
    """The flat-buffer kernels implement the textbook updates of torch.optim."""
    x, y = _data()
    for name, make_ref in [
        ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
        ("adam", lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.9, 0.999), eps=1e-8)),
    ]:
        net, ref = _net(1), _net(1)
        # full batch, so the minibatch order does not matter (up to summation order)
        _train(net, x, y, optimizer=name, lr=0.05, batch_size=len(x), n_epochs=6)
        opt = make_ref(list(ref.parameters()))
        for _ in range(6):
            opt.zero_grad()
            _mse(ref, x, y).backward()
            opt.step()
        torch.testing.assert_close(_flat(net), _flat(ref), rtol=1e-5, atol=1e-6)


def test_prior_gradient_one_sgd_step_matches_closed_form():
    """Zero data gradient, plain SGD (no momentum), one full-batch step:

    w1 = w0 - lr * (prior_weight / n) * d(-log pi)/dw (w0)      (DESIGN.md, noise_var = 1)
    """
    n = 50
    x, y = _data(n)
    net = _net(2)
    prior = MixtureGaussianPrior(lambda_=1e-4, sigma0=0.02, sigma1=1.0)
    with torch.no_grad():  # put some weights in the spike, some in the slab
        net[0].weight[0].copy_(torch.tensor([0.01, -0.015, 0.005]))
    w0 = _flat(net).double()
    lr = 0.005  # lr / (n sigma0^2) = 0.25 < 1: a contraction in the spike, no overshoot
    _one_prior_step(net, x, y, prior, lr)
    w1 = _flat(net).double()
    # hand-written gradient of -log pi: w * (s/sigma0^2 + (1-s)/sigma1^2), s = spike resp.
    s0, s1, lam = prior.sigma0, prior.sigma1, prior.lambda_
    slab = lam * torch.exp(-0.5 * w0**2 / s1**2) / s1
    spike = (1 - lam) * torch.exp(-0.5 * w0**2 / s0**2) / s0
    s = spike / (spike + slab)
    grad = w0 * (s / s0**2 + (1 - s) / s1**2)
    torch.testing.assert_close(w1, w0 - lr / n * grad, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(
        prior.grad_neg_log_prob(w0.float()).double(), grad, rtol=1e-4, atol=1e-6
    )
    # weights in the spike are pulled towards 0 (shrink, keep their sign)
    spike_idx = w0.abs() < prior.threshold
    assert spike_idx.sum() >= 3
    assert torch.all(w1[spike_idx].abs() < w0[spike_idx].abs())
    assert torch.all(torch.sign(w1[spike_idx]) == torch.sign(w0[spike_idx]))


def test_unpenalized_parameters_feel_no_prior_and_are_never_pruned():
    """A module's ``unpenalized`` parameters (an intercept) skip the prior gradient: with a
    zero data gradient one SGD step leaves them exactly where they were, while the other
    weights move by the closed-form prior step; threshold pruning keeps them even when
    they sit inside the spike."""
    n = 50
    x, y = _data(n)
    net = _net(2)
    net.unpenalized = ("2.bias",)
    prior = MixtureGaussianPrior(lambda_=1e-4, sigma0=0.02, sigma1=1.0)
    with torch.no_grad():
        net[2].bias.fill_(0.01)  # inside the spike: the prior would shrink it
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    _one_prior_step(net, x, y, prior, 0.005)
    after = dict(net.named_parameters())
    assert torch.equal(after["2.bias"].detach(), before["2.bias"])
    expected = before["0.weight"] - 0.005 / n * prior.grad_neg_log_prob(before["0.weight"])
    torch.testing.assert_close(after["0.weight"].detach(), expected, rtol=1e-5, atol=1e-7)
    masks = threshold_masks(net, prior)
    assert bool(masks["2.bias"].all())
    # the rest is pruned at the threshold as usual
    assert torch.equal(masks["0.bias"], net[0].bias.detach().abs() > prior.threshold)


def test_unpenalized_names_must_exist():
    net = _net()
    assert unpenalized_names(net) == frozenset()
    net.unpenalized = ("2.bias", "9.weight")
    with pytest.raises(ValueError, match="9.weight"):
        unpenalized_names(net)


def test_prior_weight_scales_the_prior_gradient():
    n = 30
    x, y = _data(n)
    prior = MixtureGaussianPrior(lambda_=1e-4, sigma0=0.05, sigma1=1.0)
    steps = {}
    for weight in (0.0, 0.25, 1.0):
        net = _net(4)
        w0 = _flat(net)
        _train(
            net,
            x,
            y,
            loss_fn=_zero_data_loss,
            prior=prior,
            schedule=ConstantSchedule(prior_weight=weight),
            optimizer="sgd",
            optimizer_options={"momentum": 0.0},
            lr=0.1,
            batch_size=n,
            n_epochs=1,
        )
        steps[weight] = _flat(net) - w0
    assert torch.equal(steps[0.0], torch.zeros_like(steps[0.0]))
    torch.testing.assert_close(steps[0.25], 0.25 * steps[1.0], rtol=1e-4, atol=1e-8)


def test_sghmc_with_noise_matches_hand_written_update():
    """Three SGHMC steps with injected noise against the papers' update, same generator:

    buf <- m*buf + grad + N(0,1) * sqrt(2(1-m) tau / (n lr));  w <- w - lr * buf
    with grad = (1/n) * d(-log pi)/dw (zero data gradient). The engine draws, per epoch,
    one ``randperm(n)`` (minibatch order) and then, per step, one ``randn`` for the noise.
    """
    n, lr, m, tau = 20, 0.05, 0.9, 0.3
    x, y = _data(n)
    net = _net(5)
    prior = MixtureGaussianPrior(lambda_=1e-3, sigma0=0.05, sigma1=1.0)
    w = _flat(net).clone()
    _train(
        net,
        x,
        y,
        loss_fn=_zero_data_loss,
        prior=prior,
        schedule=ConstantSchedule(temperature=tau),
        optimizer="sghmc",
        optimizer_options={"momentum": m},
        lr=lr,
        batch_size=n,
        n_epochs=3,
        seed=11,
    )

    g = torch.Generator().manual_seed(11)
    buf = None
    scale = math.sqrt(2 * (1 - m) * tau / (n * lr))
    for _ in range(3):
        torch.randperm(n, generator=g)
        grad = prior.grad_neg_log_prob(w) / n
        buf = grad.clone() if buf is None else m * buf + grad
        buf = buf + scale * torch.randn(w.shape, generator=g)
        w = w - lr * buf
    torch.testing.assert_close(_flat(net), w, rtol=1e-5, atol=1e-6)


def test_flat_buffer_is_released_after_training():
    x, y = _data()
    net = _net()
    _train(net, x, y, n_epochs=2)
    params = list(net.parameters())
    ptrs = {p.untyped_storage().data_ptr() for p in params}
    assert len(ptrs) == len(params)  # independent storage, not views of one buffer
    assert len({p.data_ptr() for p in params}) == len(params)
    assert all(p.grad is None for p in params)
    assert all(p.is_leaf and p.requires_grad for p in params)
    # writing to one parameter leaves the others alone
    before = [p.detach().clone() for p in params[1:]]
    with torch.no_grad():
        params[0].fill_(3.0)
    for p, b in zip(params[1:], before):
        assert torch.equal(p.detach(), b)
    # and the module still trains with a plain torch optimiser
    opt = torch.optim.SGD(params, lr=0.1)
    _mse(net, x, y).backward()
    opt.step()


def test_flat_parameters_share_storage_while_active():
    net = _net()
    params = list(net.parameters())
    flat = FlatParameters(params)
    assert len(flat) == sum(p.numel() for p in params)
    flat.data.zero_()
    assert all(torch.all(p == 0) for p in params)
    _mse(net, *_data()).backward()
    assert torch.equal(flat.grad, torch.cat([p.grad.reshape(-1) for p in params]))
    flat.release()
    assert all(p.grad is None for p in params)
    with pytest.raises(ValueError, match="no trainable parameters"):
        FlatParameters([])


def test_train_leaves_global_rng_alone():
    x, y = _data()
    net = _net()  # nn.Linear's default init draws from the global RNG: build it first
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    _train(net, x, y, optimizer="sghmc", schedule=ConstantSchedule(temperature=0.1))
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_kernels_registry():
    net = _net()
    flat = FlatParameters(list(net.parameters()))
    try:
        assert isinstance(make_kernel("sgd", flat, None), SGD)
        assert isinstance(make_kernel("sghmc", flat, None), SGHMC)
        assert isinstance(make_kernel("adam", flat, None), Adam)
        assert SGHMC.supports_temperature and not SGD.supports_temperature
        assert not Adam.supports_temperature
        with pytest.raises(ValueError, match="momentum"):
            SGHMC(flat, None, momentum=1.0)
    finally:
        flat.release()


# ----------------------------------------------------------------------------- schedules
def test_prior_annealing_boundaries_ints_and_fractions():
    # ints are epochs
    assert PriorAnnealing(warmup=10, ramp=5, anneal=20).boundaries(100) == (10, 15, 35)
    # floats are fractions of the run
    assert PriorAnnealing(warmup=0.1, ramp=0.1, anneal=0.4).boundaries(50) == pytest.approx(
        (5, 10, 30)
    )
    # mixed
    assert PriorAnnealing(warmup=2, ramp=0.5, anneal=0).boundaries(10) == pytest.approx((2, 7, 7))
    # int 1 is one epoch, float 1.0 is the whole run
    assert PriorAnnealing(warmup=1, ramp=0, anneal=0).boundaries(10) == (1, 1, 1)
    assert PriorAnnealing(warmup=1.0, ramp=0.0, anneal=0.0).boundaries(10) == (10, 10, 10)
    # numpy scalars behave like their Python counterparts
    assert PriorAnnealing(warmup=np.int64(3), ramp=np.float64(0.5), anneal=0).boundaries(
        10
    ) == pytest.approx((3, 8, 8))


def test_prior_annealing_errors():
    with pytest.raises(ValueError, match="n_epochs"):
        PriorAnnealing(warmup=50, ramp=30, anneal=30).validate(100)
    with pytest.raises(ValueError, match="n_epochs"):
        PriorAnnealing(warmup=0.5, ramp=0.3, anneal=0.3).validate(100)
    with pytest.raises(ValueError, match="warmup"):
        PriorAnnealing(warmup=-1).validate(100)
    with pytest.raises(ValueError, match="ramp"):
        PriorAnnealing(ramp=1.5).validate(100)
    with pytest.raises(TypeError, match="anneal"):
        PriorAnnealing(anneal="half").validate(100)
    with pytest.raises(TypeError, match="warmup"):
        PriorAnnealing(warmup=True).validate(100)
    with pytest.raises(ValueError, match="temperature"):
        PriorAnnealing(temperature=-0.1)
    with pytest.raises(ValueError, match="sigma0_ratio"):
        PriorAnnealing(sigma0_ratio=0.5)
    with pytest.raises(ValueError, match="sigma0_init"):
        PriorAnnealing(sigma0_init=0.0)
    # fitting inside n_epochs exactly is fine
    PriorAnnealing(warmup=50, ramp=30, anneal=20).validate(100)


def test_prior_annealing_phases():
    sigma0, tau = 0.01, 0.2
    s = PriorAnnealing(warmup=10, ramp=10, anneal=20, temperature=tau)
    s_init = math.sqrt(50.0) * sigma0  # default sigma0_ratio
    st = s.at(5.0, 100, sigma0)
    assert st == ScheduleState("warmup", 0.0, pytest.approx(s_init), 0.0)
    st = s.at(12.5, 100, sigma0)
    assert (st.phase, st.prior_weight, st.temperature) == ("ramp", pytest.approx(0.25), tau)
    assert st.sigma0 == pytest.approx(s_init)
    # anneal: linear in the variance, from s_init^2 to sigma0^2
    st = s.at(30.0, 100, sigma0)
    assert st.phase == "anneal" and st.prior_weight == 1.0 and st.temperature == tau
    assert st.sigma0 == pytest.approx(math.sqrt(0.5 * s_init**2 + 0.5 * sigma0**2))
    # cool: sigma0 at its final value, temperature tau / (1 + t - T3)
    st = s.at(43.0, 100, sigma0)
    assert st.phase == "cool" and st.sigma0 == pytest.approx(sigma0)
    assert st.temperature == pytest.approx(tau / 4.0)
    # sigma0 never increases and ends at the prior's sigma0
    grid = np.linspace(0, 99.99, 400)
    sig = [s.at(t, 100, sigma0).sigma0 for t in grid]
    assert np.all(np.diff(sig) <= 1e-15)
    assert sig[-1] == pytest.approx(sigma0)
    phases = [s.at(t, 100, sigma0).phase for t in grid]
    assert phases[0] == "warmup" and phases[-1] == "cool"
    assert [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]] == [
        "warmup",
        "ramp",
        "anneal",
        "cool",
    ]
    # an explicit sigma0_init wins over the ratio
    assert PriorAnnealing(sigma0_init=0.3).at(0.0, 10, sigma0).sigma0 == pytest.approx(0.3)
    assert s.max_temperature == tau


def test_constant_schedule():
    c = ConstantSchedule(prior_weight=0.5, temperature=0.1)
    for t in (0.0, 3.5, 99.0):
        assert c.at(t, 100, 0.02) == ScheduleState("constant", 0.5, 0.02, 0.1)
    assert c.max_temperature == 0.1
    c.validate(1)  # nothing to check
    assert ConstantSchedule().at(0.0, 1, 0.1) == ScheduleState("constant", 1.0, 0.1, 0.0)
    with pytest.raises(ValueError, match="prior_weight"):
        ConstantSchedule(prior_weight=1.5)
    with pytest.raises(ValueError, match="temperature"):
        ConstantSchedule(temperature=-1.0)
