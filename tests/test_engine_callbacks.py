"""Tests of the engine's callback API (``bsdl.inference.callbacks``), ``TrainConfig`` and
the prior gradient for a user's own loop (``PriorGradient``, ``add_prior_grad_``).

Expected values come from the hook order documented in ``bsdl/inference/callbacks.py`` and
from the closed-form gradient of the mixture prior written out here, independently of
``MixtureGaussianPrior``'s code.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from bsdl import MixtureGaussianPrior
from bsdl.exceptions import TrainingDivergedError
from bsdl.inference import (
    Callback,
    ConstantSchedule,
    PriorAnnealing,
    PriorGradient,
    TrainConfig,
    add_prior_grad_,
    train,
    training_callbacks,
)
from bsdl.inference.callbacks import bound_hooks


# ----------------------------------------------------------------------------- helpers
def _mse(module, x, y):
    return 0.5 * (module(x).squeeze(-1) - y).pow(2).mean()


def _zero_data_loss(module, x, y):
    return 0.0 * module(x).sum()


def _net(seed: int = 0, dtype=torch.float32) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=dtype))
    return net


def _data(n: int = 40, seed: int = 0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=dtype)
    y = torch.sin(x[:, 0]) + 0.5 * x[:, 1] + 0.1 * torch.randn(n, generator=g, dtype=dtype)
    return x, y


def _flat(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _closed_form_prior_grad(w: torch.Tensor, lam: float, s0: float, s1: float) -> torch.Tensor:
    """d(-log pi)/dw = w * (s/s0^2 + (1-s)/s1^2), s = spike responsibility = 1 - q(w)."""
    slab = lam * torch.exp(-0.5 * w**2 / s1**2) / s1
    spike = (1 - lam) * torch.exp(-0.5 * w**2 / s0**2) / s0
    s = spike / (spike + slab)
    return w * (s / s0**2 + (1 - s) / s1**2)


class Recorder(Callback):
    """Log every hook call with (epoch, step, global_step)."""

    def __init__(self):
        self.calls = []

    def _log(self, name, state):
        self.calls.append((name, state.epoch, state.step, state.global_step))

    def on_train_begin(self, state):
        self._log("on_train_begin", state)

    def on_epoch_begin(self, state):
        self._log("on_epoch_begin", state)

    def on_batch_begin(self, state):
        self._log("on_batch_begin", state)

    def after_backward(self, state):
        self._log("after_backward", state)

    def after_step(self, state):
        self._log("after_step", state)

    def on_epoch_end(self, state):
        self._log("on_epoch_end", state)

    def on_train_end(self, state):
        self._log("on_train_end", state)


# ----------------------------------------------------------------------------- hooks
def test_hooks_run_in_the_documented_order():
    x, y = _data(20)
    rec = Recorder()
    train(_net(), _mse, x, y, n_epochs=2, batch_size=10, lr=1e-2, generator=_gen(), callbacks=[rec])
    expected = [("on_train_begin", 0, 0, 0)]
    g = 0
    for epoch in range(2):
        expected.append(("on_epoch_begin", epoch, 0, g))
        for step in range(2):
            expected += [
                ("on_batch_begin", epoch, step, g),
                ("after_backward", epoch, step, g),
                ("after_step", epoch, step, g + 1),
            ]
            g += 1
        expected.append(("on_epoch_end", epoch, 1, g))
    expected.append(("on_train_end", 1, 1, 4))
    assert rec.calls == expected


def test_only_overridden_hooks_are_collected():
    class OnlyStep(Callback):
        def after_step(self, state):
            pass

    cbs = [Callback(), OnlyStep(), Recorder()]
    assert len(bound_hooks(cbs, "after_step")) == 2
    assert len(bound_hooks(cbs, "after_backward")) == 1
    assert bound_hooks([Callback()], "on_epoch_end") == []


def test_after_backward_runs_before_the_step_and_sees_the_prior_term():
    """A user's after_backward sees the data gradient plus the prior term (the built-in
    prior gradient runs first) and its edits are what the kernel steps with."""
    n = 30
    x, y = _data(n)
    prior = MixtureGaussianPrior(lambda_=1e-3, sigma0=0.05, sigma1=1.0)

    class Grab(Callback):
        def after_backward(self, state):
            self.w = state.params.clone()
            self.g = state.grad.clone()
            state.grad.zero_()  # the kernel then has nothing to do

    grab = Grab()
    net = _net(1)
    w0 = _flat(net)
    train(
        net,
        _zero_data_loss,
        x,
        y,
        prior=prior,
        schedule=ConstantSchedule(),
        n_epochs=1,
        batch_size=n,
        lr=0.1,
        optimizer="sgd",
        generator=_gen(),
        callbacks=[grab],
    )
    assert torch.equal(_flat(net), w0)  # zeroed gradient: no move
    expected = _closed_form_prior_grad(grab.w.double(), 1e-3, 0.05, 1.0) / n
    torch.testing.assert_close(grab.g.double(), expected, rtol=1e-4, atol=1e-8)


def test_after_step_sees_the_mask_reapplied():
    x, y = _data()
    net = _net()
    mask = torch.ones(_flat(net).numel())
    mask[::3] = 0.0

    class Check(Callback):
        def on_train_begin(self, state):
            self.zero = []

        def after_step(self, state):
            self.zero.append(bool((state.params[mask == 0] == 0).all()))

    check = Check()
    train(
        net,
        _mse,
        x,
        y,
        n_epochs=2,
        batch_size=10,
        lr=0.05,
        optimizer="sgd",
        mask=mask,
        generator=_gen(),
        callbacks=[check],
    )
    assert len(check.zero) == 8 and all(check.zero)


def test_stop_training_ends_after_the_epoch():
    class StopAt2(Callback):
        def on_epoch_end(self, state):
            state.stop_training = state.epoch + 1 == 2

    x, y = _data()
    hist = train(
        _net(),
        _mse,
        x,
        y,
        n_epochs=10,
        batch_size=10,
        lr=1e-2,
        generator=_gen(),
        callbacks=[StopAt2()],
    )
    assert [row["epoch"] for row in hist] == [1, 2]


def test_on_train_end_runs_on_error_with_the_exception():
    rec = Recorder()

    class Keep(Callback):
        def on_train_end(self, state):
            self.error = state.error

    keep = Keep()
    x, y = _data()
    net = _net()
    with pytest.raises(TrainingDivergedError):
        train(
            net,
            _mse,
            x,
            1e30 * y,
            n_epochs=5,
            batch_size=10,
            lr=10.0,
            optimizer="sgd",
            generator=_gen(),
            callbacks=[rec, keep],
        )
    assert rec.calls[-1][0] == "on_train_end"
    assert isinstance(keep.error, TrainingDivergedError)
    assert all(p.grad is None for p in net.parameters())  # flat buffer released


def test_history_row_and_noise_estimate_in_state():
    """on_epoch_end of a user callback sees the finished row; the noise variance used in
    epoch e+1 is twice epoch e's mean loss (clipped), 1 in the first epoch."""

    class Rows(Callback):
        def on_train_begin(self, state):
            self.seen = []

        def after_backward(self, state):
            if state.step == 0:
                self.seen.append(state.noise_var)

        def on_epoch_end(self, state):
            assert state.row is state.history[-1]

    rows = Rows()
    x, y = _data()
    hist = train(
        _net(),
        _mse,
        x,
        y,
        n_epochs=3,
        batch_size=10,
        lr=1e-2,
        estimate_noise=True,
        generator=_gen(),
        callbacks=[rows],
    )
    assert rows.seen[0] == 1.0
    for e in range(1, 3):
        assert rows.seen[e] == pytest.approx(2.0 * hist[e - 1]["loss"], rel=1e-12)
        assert hist[e - 1]["noise_var"] == rows.seen[e]


def test_callbacks_must_be_callback_objects():
    x, y = _data()
    with pytest.raises(TypeError, match=r"callbacks\[1\]"):
        train(
            _net(), _mse, x, y, n_epochs=1, batch_size=10, lr=0.1, generator=_gen(),
            callbacks=[Recorder(), lambda s: None],
        )  # fmt: skip
    prior = MixtureGaussianPrior(1e-3, 0.05, 1.0)
    with pytest.raises(ValueError, match="PriorGradient"):
        train(
            _net(), _mse, x, y, n_epochs=1, batch_size=10, lr=0.1, generator=_gen(),
            prior=prior, callbacks=[PriorGradient(prior)],
        )  # fmt: skip


def test_training_callbacks_reach_every_run_in_the_block():
    x, y = _data()
    outer, inner, direct = Recorder(), Recorder(), Recorder()
    order = []

    class Tag(Callback):
        def __init__(self, name):
            self.name = name

        def on_train_begin(self, state):
            order.append(self.name)

    kw = dict(n_epochs=1, batch_size=40, lr=0.1, generator=_gen())
    with training_callbacks(outer, Tag("outer")):
        train(_net(), _mse, x, y, **kw)
        with training_callbacks(inner, Tag("inner")):
            train(_net(), _mse, x, y, callbacks=[direct, Tag("direct")], **kw)
    train(_net(), _mse, x, y, **kw)  # outside: nobody sees it
    assert sum(c[0] == "on_train_begin" for c in outer.calls) == 2
    assert sum(c[0] == "on_train_begin" for c in inner.calls) == 1
    assert sum(c[0] == "on_train_begin" for c in direct.calls) == 1
    assert order == ["outer", "direct", "outer", "inner"]
    with pytest.raises(TypeError, match="training_callbacks"):
        with training_callbacks("not a callback"):
            pass


# ----------------------------------------------------------------------------- config
def test_config_and_keywords_train_identically():
    x, y = _data()
    prior = MixtureGaussianPrior(lambda_=1e-3, sigma0=0.02, sigma1=1.0)
    options = dict(
        n_epochs=6,
        batch_size=16,
        lr=1e-2,
        prior=prior,
        schedule=PriorAnnealing(warmup=1, ramp=1, anneal=2),
        optimizer="adam",
        estimate_noise=True,
    )
    a, b, c = _net(3), _net(3), _net(3)
    ha = train(a, _mse, x, y, generator=_gen(7), **options)
    cfg = TrainConfig(**options)
    hb = train(b, _mse, x, y, cfg, generator=_gen(7))
    # a keyword overrides the config's field
    hc = train(c, _mse, x, y, replace(cfg, n_epochs=3), generator=_gen(7), n_epochs=6)
    assert torch.equal(_flat(a), _flat(b)) and torch.equal(_flat(a), _flat(c))
    assert repr(ha) == repr(hb) == repr(hc)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_epochs=-1), ValueError, "n_epochs"),
        (dict(n_epochs=2.5), TypeError, "n_epochs"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(batch_size=True), TypeError, "batch_size"),
        (dict(lr=-1e-3), ValueError, "lr"),
        (dict(lr=float("nan")), ValueError, "lr"),
        (dict(lr="0.1"), TypeError, "lr"),
        (dict(optimizer="lbfgs"), ValueError, "optimizer"),
        (dict(optimizer_options=[0.9]), TypeError, "optimizer_options"),
        (dict(prior="spike"), TypeError, "prior"),
        (dict(schedule=0.5), TypeError, "schedule"),
        (dict(mask=[1, 0]), TypeError, "mask"),
        (dict(n_obs=0), ValueError, "n_obs"),
        (dict(n_threads=0), ValueError, "n_threads"),
        (dict(n_threads="many"), TypeError, "n_threads"),
    ],
)
def test_train_config_rejects_bad_values(kwargs, error, match):
    base = dict(n_epochs=2, batch_size=8, lr=1e-3)
    with pytest.raises(error, match=match):
        TrainConfig(**{**base, **kwargs})


def test_train_rejects_unknown_options_and_bad_config():
    x, y = _data()
    with pytest.raises(TypeError, match="n_epoch"):
        train(_net(), _mse, x, y, n_epoch=2, batch_size=8, lr=0.1, generator=_gen())
    with pytest.raises(TypeError, match="config"):
        train(_net(), _mse, x, y, {"n_epochs": 2}, generator=_gen())


def test_mask_of_the_wrong_length_is_refused_and_buffer_released():
    x, y = _data()
    net = _net()
    with pytest.raises(ValueError, match="mask"):
        train(
            net, _mse, x, y, n_epochs=1, batch_size=8, lr=0.1, generator=_gen(),
            mask=torch.ones(3),
        )  # fmt: skip
    assert all(p.grad is None for p in net.parameters())


# ----------------------------------------------------------------------------- own loop
@pytest.mark.parametrize("use", ["callback", "function"])
def test_prior_gradient_in_a_plain_torch_loop_matches_closed_form(use):
    """One step of torch.optim.SGD (no momentum) on a zero data gradient with the prior
    added after backward: w1 = w0 - lr * weight * noise_var / n * d(-log pi)/dw(w0), with
    d(-log pi)/dw = w (s/sigma0^2 + (1-s)/sigma1^2), s = 1 - q(w), written out above.
    float64 throughout, so the tolerance is float64 round-off."""
    n, lr, weight, noise_var = 50, 0.01, 0.5, 2.0
    lam, s0, s1 = 1e-4, 0.02, 1.0
    prior = MixtureGaussianPrior(lambda_=lam, sigma0=s0, sigma1=s1)
    x, y = _data(n, dtype=torch.float64)
    net = _net(2, dtype=torch.float64)
    net.unpenalized = ("2.bias",)
    with torch.no_grad():  # some weights in the spike
        net[0].weight[0].copy_(torch.tensor([0.01, -0.015, 0.005]))
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    cb = PriorGradient(prior, n_obs=n, module=net, weight=weight, noise_var=noise_var)
    opt.zero_grad()
    _zero_data_loss(net, x, y).backward()
    if use == "callback":
        cb.after_backward()
    else:
        add_prior_grad_(net, prior, n, weight=weight, noise_var=noise_var)
    opt.step()
    for name, p in net.named_parameters():
        w0 = before[name]
        if name == "2.bias":  # unpenalised: no prior, zero data gradient -> unchanged
            assert torch.equal(p.detach(), w0)
            continue
        grad = _closed_form_prior_grad(w0, lam, s0, s1)
        expected = w0 - lr * weight * noise_var / n * grad
        torch.testing.assert_close(p.detach(), expected, rtol=1e-12, atol=1e-15)
    assert not torch.equal(net[0].weight.detach(), before["0.weight"])


def test_prior_gradient_in_own_loop_equals_the_engine():
    """One full-batch SGD step (no momentum) of the engine with a constant prior and one of
    a plain torch.optim.SGD loop with PriorGradient reach the same weights."""
    n = 40
    x, y = _data(n)
    prior = MixtureGaussianPrior(lambda_=1e-3, sigma0=0.05, sigma1=1.0)
    net_engine, net_own = _net(5), _net(5)
    lr = 0.05
    train(
        net_engine,
        _mse,
        x,
        y,
        prior=prior,
        schedule=ConstantSchedule(),
        n_epochs=1,
        batch_size=n,
        lr=lr,
        optimizer="sgd",
        optimizer_options={"momentum": 0.0},
        generator=_gen(),
    )
    opt = torch.optim.SGD(net_own.parameters(), lr=lr)
    cb = PriorGradient(prior, n_obs=n, module=net_own)
    opt.zero_grad()
    _mse(net_own, x, y).backward()
    cb.after_backward()
    opt.step()
    torch.testing.assert_close(_flat(net_engine), _flat(net_own), rtol=1e-6, atol=1e-7)


def test_prior_gradient_bad_input():
    prior = MixtureGaussianPrior(1e-3, 0.05, 1.0)
    with pytest.raises(TypeError, match="prior"):
        PriorGradient("spike", n_obs=10)
    with pytest.raises(ValueError, match="n_obs"):
        PriorGradient(prior, n_obs=0)
    with pytest.raises(TypeError, match="module"):
        PriorGradient(prior, n_obs=10, module="net")
    with pytest.raises(ValueError, match="weight"):
        PriorGradient(prior, n_obs=10, weight=-1.0)
    with pytest.raises(ValueError, match="noise_var"):
        add_prior_grad_(_net(), prior, 10, noise_var=0.0)
    with pytest.raises(ValueError, match="module"):
        PriorGradient(prior, n_obs=10).after_backward()
    assert math.isclose(PriorGradient(prior, n_obs=10).weight, 1.0)


def test_add_prior_grad_creates_missing_gradients():
    prior = MixtureGaussianPrior(lambda_=0.5, sigma0=0.1, sigma1=1.0)
    net = nn.Linear(2, 1, bias=False).double()
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.3, -2.0]], dtype=torch.float64))
    assert net.weight.grad is None
    add_prior_grad_(net, prior, 4)
    expected = _closed_form_prior_grad(net.weight.detach(), 0.5, 0.1, 1.0) / 4
    torch.testing.assert_close(net.weight.grad, expected, rtol=1e-12, atol=1e-15)
