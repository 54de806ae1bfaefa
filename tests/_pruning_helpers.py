"""Shared pieces of the bsdl.pruning tests: a small regression task, a small MLP, a loop."""

from __future__ import annotations

import torch
from torch import nn

from bsdl import MixtureGaussianPrior
from bsdl.pruning import DPF, GMP, MGPP, PLATON, MovementPruning

PRUNERS = [GMP, MGPP, MovementPruning, PLATON, DPF]
N = 256


def make_pruner(cls, model, s, total, sgd=False, **kw):
    if cls is MGPP:
        kw.setdefault("n_obs", N)
        if sgd:  # the default spike (sd 1e-5) needs Adam; SGD follows lr / (n sigma0^2) < 1
            kw.setdefault("prior", MixtureGaussianPrior(0.1, 0.1, 1.0))
    return cls(model, s, total, **kw)


def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(N, 10, generator=g)
    beta = torch.tensor([[1.0], [-2.0], [1.5]])
    y = X[:, :3] @ beta + 0.1 * torch.randn(N, 1, generator=g)
    return X, y, g


def mlp(seed=0, width=32):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(10, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1)
    )


def run(model, pruner, steps, opt, X, y, g, batch=32, on_step=None):
    for _ in range(steps):
        idx = torch.randint(0, len(X), (batch,), generator=g)
        opt.zero_grad()
        loss = (model(X[idx]) - y[idx]).pow(2).mean()
        loss.backward()
        pruner.before_step()
        opt.step()
        if on_step is not None:
            on_step(pruner)
        pruner.after_step()
    with torch.no_grad():
        return float((model(X) - y).pow(2).mean())


def zeros(params):
    return sum(int((p == 0).sum()) for p in params)


def sparse_(module: nn.Module, keep: float, seed: int) -> None:
    """Keep each entry of every 2-D parameter with probability ``keep`` (in place)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 2:
                p.mul_(torch.rand(p.shape, generator=g) < keep)
