#!/usr/bin/env python
"""Diagnostic: candidate methods for SparseRNN's lag-selection power (issue 14, deliverable 2).

Vignette 02's designs (the linear AR {1, 3, 7} of ``make_ar``, the nonlinear AR {1, 2, 5}
of ``make_nonlinear_ar`` and the even AR {1, 3} of ``make_even_ar``, whose lag 3 enters only
through an even function; series seed ``numpy.random.default_rng([d, rep, n])``, d = 0, 1, 2
in that order, ``random_state=rep`` for bsdl, candidate lags 1..10): exact lag-set recovery of
candidate selection methods built on ``SparseRNN`` **without changing bsdl**, next to
statsmodels' global BIC subset search (``ar_select_order(y, maxlag=10, ic="bic", glob=True)``)
on the same series, and the fit time of each method against today's default fit.

Fits (each a plain ``SparseRNN(lags=10, random_state=rep)``; one restart; the default prior
formula ``sigma0 = clip(c / sqrt(n_scored), 0.005, 0.1)``, ``sigma1 = 1`` with the ``c`` and
``lambda`` below passed as an explicit prior, which reproduces the default fit exactly at
``c = 1, lambda = 0.01``); see ``FITS``.

Methods (``METHODS``):

* ``default``: today's ``SparseRNN(lags=10)``.
* ``grid3``: three fits at c = 1, 0.7, 0.5 (today's restart grid), the smallest BIC kept.
* ``lam0.1``, ``lam0.001``: one fit at lambda = 0.1 (1 / number of candidate lags) or 1e-3
  (about 1 / number of weights, the JASA rate), c = 1.
* ``lampath``: fits at lambda = 0.01, 0.1, 0.5 (c = 1), the smallest BIC kept.
* ``fwd-refit``: the default fit, then forward steps: each pruned lag's skip weight is
  re-admitted (started at the least-squares coefficient of the current residuals on that
  lag), every surviving weight refitted for ``refit_epochs // 4`` epochs, and the lag whose
  re-admission lowers BIC most is kept; repeated while BIC falls.
* ``stepwise``: the default fit, then the linear path re-chosen by BIC with the recurrent part
  held fixed: greedy add-or-drop of skip lags, each candidate's skip coefficients and level
  profiled by least squares on the partial residual ``z - g(x)`` (``g``: the recurrent
  part's output), until no move lowers BIC; then one refit of ``refit_epochs // 4`` epochs.
* ``exhaustive``: as ``stepwise`` but over all ``2^lags`` subsets of the linear path.
* ``joint``: ``exhaustive``, but first a backward elimination of the recurrent part's groups
  (hidden units; input columns without their skip weight) in which every candidate removal
  is scored with the linear path re-chosen (profiled) for it: the group whose removal lowers
  that BIC most goes, until none does (bsdl's own elimination scores a removal with the
  linear path as it is, so a unit that a better linear path makes redundant stays).
  ``joint-all``: the same on every point from ``lags`` on (see ``-all`` below).
* ``rnn``, ``gru`` and ``rnn+joint``, ``gru+joint``: the default fit with ``cell="rnn"`` (an
  Elman cell, ``tanh(W x + U h + b)``: with ``U`` pruned a unit is a function of its input
  lags only) or ``cell="gru"``, alone or followed by ``joint``. An LSTM unit whose gate
  biases are pruned keeps half its cell state (forget gate ``sigmoid(0) = 1/2``), so a unit
  that reads lag 2 also depends on lags 3, 4, ... through its memory; a GRU unit likewise
  (update gate 1/2).
* ``joint-refit``, ``rnn+joint-refit``: the linear path chosen as in ``exhaustive`` (with its
  short refit), then a backward elimination over the recurrent part's groups (units, input
  columns, each unit's recurrent weights, all recurrent weights) in which every candidate
  removal gets the linear path re-chosen and a short refit before its BIC is compared.
* ``grid3+exh``: ``exhaustive`` applied to each of the three ``grid3`` fits, the smallest
  final BIC kept.
* ``hook-exh``, ``hook-step``, ``hook-exh-all``, ``hook-joint``, ``hook-joint-all``: the same
  re-choices of the linear path (``exhaustive``, ``stepwise``, ``joint``) *inside*
  the pipeline (``LinearPathRNN``, a SparseRNN subclass whose restart ``simplify`` hook runs
  bsdl's threshold + BIC elimination and then the linear-path search), so bsdl's own refit
  follows it and nothing is added to the fit: exhaustive or greedy search on the scored
  points, or exhaustive on every point from ``lags`` on (``-all``: the first window's
  burn-in steps too, the sample statsmodels' search uses). ``hook-joint-rnn``: ``hook-joint``
  with ``cell="rnn"``.

Every BIC here is bsdl's (``-2 loglik + k log n`` on the original scale, ``n`` scored points,
``k`` non-zero weights with the level, ``RSS / n`` noise); the recomputed BIC of a fit is
checked against its ``bic_``. A method's time is the sum of its fits' times (as recorded
when each fit ran) plus its post-processing, divided by the default fit's time on the same
replicate.

Usage::

    OMP_NUM_THREADS=1 python bench/diagnostics/lag_selection_power.py \\
        [--design linear|nonlinear|even|both|all] [--ns 200,500,1000] [--reps 5] [--methods ...] \\
        [--n-jobs 2] [--cache DIR] [--cache-tag TAG] [--json out.json] [--quick]

Without ``--ns``: the linear design at n = 200, 500, 1000, the others at n = 1000.
Fitted models are cached (bsdl's own save format) under ``--cache``, keyed by a hash of the
fitting code (or ``--cache-tag``), so later runs reuse them. ``--quick``: n = 300, one
replicate, 40 epochs (checks that the pipeline runs; its numbers mean nothing). Not a
benchmark and not run by the tests; results are quoted in BENCHMARKS.md ("Lag selection
power: candidates (prototype)").
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import itertools
import json
import math
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import torch
from joblib import Parallel, delayed

import bsdl
from bsdl import MixtureGaussianPrior, SparseRNN
from bsdl.datasets import (
    EVEN_AR_LAGS,
    NONLINEAR_AR_LAGS,
    make_ar,
    make_even_ar,
    make_nonlinear_ar,
)
from bsdl.inference import ConstantSchedule, TrainConfig, train
from bsdl.models._windows import full_loss, lag_windows, training_ends, window_loss
from bsdl.sparsify import apply_masks, count_nonzero, flat_mask, get_masks

ROOT = Path(__file__).resolve().parents[2]
LAGS, WINDOW, BURN_IN = 10, 8, 4  # SparseRNN's defaults
# vignette 02's designs, in its order (the d of the series seed)
DESIGNS = {
    "linear": (1, 3, 7),
    "nonlinear": tuple(NONLINEAR_AR_LAGS),
    "even": tuple(EVEN_AR_LAGS),
}
# fit name -> (c, lambda, hook): sigma0 = clip(c / sqrt(n_scored), 0.005, 0.1); hook: None
# (a plain SparseRNN, saved) or (search, sample) of LinearPathRNN (only its lags are kept)
FITS = {
    "c1": (1.0, 1e-2, None),
    "c0.7": (0.7, 1e-2, None),
    "c0.5": (0.5, 1e-2, None),
    "lam0.1": (1.0, 0.1, None),
    "lam0.5": (1.0, 0.5, None),
    "lam0.001": (1.0, 1e-3, None),
    "hook-exh": (1.0, 1e-2, ("exhaustive", "scored", False)),
    "hook-step": (1.0, 1e-2, ("greedy", "scored", False)),
    "hook-exh-all": (1.0, 1e-2, ("exhaustive", "all", False)),
    "hook-joint": (1.0, 1e-2, ("exhaustive", "scored", True)),
    "hook-joint-all": (1.0, 1e-2, ("exhaustive", "all", True)),
    "hook-joint-rnn": (1.0, 1e-2, ("exhaustive", "scored", True)),
    "rnn": (1.0, 1e-2, None),  # cell="rnn" (see CELL)
    "gru": (1.0, 1e-2, None),
}
CELL = {
    "rnn": "rnn",
    "gru": "gru",
    "hook-joint-rnn": "rnn",
}  # fit name -> cell (default: SparseRNN's "lstm")
# method -> the fits it needs
METHODS = {
    "default": ("c1",),
    "grid3": ("c1", "c0.7", "c0.5"),
    "lam0.1": ("lam0.1",),
    "lam0.001": ("lam0.001",),
    "lampath": ("c1", "lam0.1", "lam0.5"),
    "fwd-refit": ("c1",),
    "stepwise": ("c1",),
    "exhaustive": ("c1",),
    "grid3+exh": ("c1", "c0.7", "c0.5"),
    "hook-exh": ("hook-exh",),
    "hook-step": ("hook-step",),
    "hook-exh-all": ("hook-exh-all",),
    "joint": ("c1",),
    "joint-all": ("c1",),
    "rnn": ("rnn",),
    "rnn+joint": ("rnn",),
    "gru": ("gru",),
    "gru+joint": ("gru",),
    "hook-joint-rnn": ("hook-joint-rnn",),
    "joint-refit": ("c1",),
    "rnn+joint-refit": ("rnn",),
    "hook-joint": ("hook-joint",),
    "hook-joint-all": ("hook-joint-all",),
}
POST_HOC = {  # method -> (search, sample, profile) applied to the default fit
    "stepwise": ("greedy", "scored", False),
    "exhaustive": ("exhaustive", "scored", False),
    "grid3+exh": ("exhaustive", "scored", False),
    "joint": ("exhaustive", "scored", True),
    "joint-all": ("exhaustive", "all", True),
    "rnn+joint": ("exhaustive", "scored", True),
    "gru+joint": ("exhaustive", "scored", True),
}


# ---------------------------------------------------------------- data and fits
def simulate(design: str, n: int, rep: int) -> np.ndarray:
    """Vignette 02's series: ``default_rng([d, rep, n])``, d = 0 linear, 1 nonlinear, 2 even."""
    rng = np.random.default_rng([list(DESIGNS).index(design), rep, n])
    if design == "linear":
        return make_ar(n, random_state=rng)
    if design == "even":
        return make_even_ar(n, random_state=rng)
    return make_nonlinear_ar(n, random_state=rng)


def prior_for(n: int, c: float, lam: float) -> MixtureGaussianPrior:
    """The default prior formula of ``SequenceForecaster._default_prior`` at ``c``, ``lam``."""
    n_scored = int(training_ends(n, LAGS, WINDOW, BURN_IN).numel()) * (WINDOW - BURN_IN)
    sigma0 = float(np.clip(c / np.sqrt(n_scored), 0.005, 0.1))
    return MixtureGaussianPrior(lambda_=lam, sigma0=sigma0, sigma1=1.0)


def code_hash() -> str:
    """Hash of the fitting code (a cached fit is reused only by the same code)."""
    h = hashlib.sha1()
    for sub in ("models", "inference", "nn", "sparsify", "intervals"):
        for path in sorted((ROOT / "bsdl" / sub).rglob("*.py")):
            h.update(path.read_bytes())
    h.update((ROOT / "bsdl" / "priors.py").read_bytes())
    return h.hexdigest()[:10]


def fit_one(design, n, rep, fit, cache: Path, n_epochs) -> dict:
    """Fit (or load) one model; returns where it is saved and its fit time."""
    torch.set_num_threads(1)
    c, lam, hook = FITS[fit]
    path = cache / f"{design}_n{n}_r{rep}_{fit}_e{n_epochs}"
    meta = Path(f"{path}.json")  # not with_suffix: fit names hold dots
    if meta.exists() and (hook is not None or path.exists()):
        return {**json.loads(meta.read_text()), "path": str(path)}
    y = simulate(design, n, rep)
    kwargs = {} if n_epochs == "auto" else {"n_epochs": int(n_epochs)}
    cls = SparseRNN
    if hook is not None:
        attrs = dict(search=hook[0], sample=hook[1], profile=hook[2])
        cls = type(f"LinearPathRNN_{fit}", (LinearPathRNN,), attrs)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fit in CELL:
            kwargs["cell"] = CELL[fit]
        model = cls(lags=LAGS, prior=prior_for(n, c, lam), random_state=rep, **kwargs)
        model.fit(y)
    seconds = time.perf_counter() - t0
    if hook is None:
        model.save(path)
    info = dict(path=str(path), seconds=seconds, lags=model.selected_lags_.tolist(), bic=model.bic_)
    meta.write_text(json.dumps(info))
    return info


# ---------------------------------------------------------------- BIC of a module
class Data:
    """The training windows of a fitted model and bsdl's BIC of any module on them."""

    def __init__(self, model: SparseRNN) -> None:
        self.model = model
        z, _ = model._scaled(model._y, None, torch.device("cpu"))
        ends = training_ends(model.n_obs_, LAGS, WINDOW, BURN_IN)
        self.inputs = lag_windows(z, None, LAGS, WINDOW, ends)
        steps = torch.arange(WINDOW - BURN_IN)
        self.targets = z[ends.reshape(-1, 1) - (WINDOW - BURN_IN - 1) + steps]
        self.n = int(self.targets.numel())
        self.x = self.inputs[:, BURN_IN:, :].reshape(-1, LAGS).double().numpy()
        self.z = self.targets.reshape(-1).double().numpy()
        self.offset = 2.0 * self.n * math.log(model.y_scale_)  # to the original scale

    def bic_from_rss(self, rss: float, k: int) -> float:
        var = max(rss / self.n, 1e-300)
        return self.n * (math.log(2 * math.pi * var) + 1.0) + k * math.log(self.n) + self.offset

    @torch.no_grad()
    def rss(self, module) -> float:
        return 2.0 * float(full_loss(self.inputs, self.targets, module)) * self.n

    def bic(self, module) -> float:
        return self.bic_from_rss(self.rss(module), count_nonzero(module))

    def refit(self, module, epochs: int, seed: int) -> None:
        """Refit every surviving weight (no prior, mask fixed), as bsdl's refit does."""
        if epochs <= 0:
            return
        m = self.model
        config = TrainConfig(
            n_epochs=int(epochs),
            batch_size=int(m.batch_size_),
            lr=float(m.lr),
            prior=None,
            schedule=ConstantSchedule(prior_weight=0.0),
            optimizer="adam",
            mask=flat_mask(module),
            estimate_noise=True,
            n_obs=self.n,
            desc="prototype refit",
        )
        gen = torch.Generator().manual_seed(int(seed))
        train(module, window_loss, self.inputs, self.targets, config, generator=gen)


def selected(module) -> list[int]:
    keep = module.connected_inputs(get_masks(module)).numpy()
    return (np.flatnonzero(keep[:LAGS]) + 1).tolist()


# ---------------------------------------------------------------- the linear path by BIC
class LinearPath:
    """BIC of every subset of the linear (skip) path by least squares on a partial residual.

    ``x``: the lag vectors ``(n, p)`` of the points that enter the criterion. For a subset
    ``S`` the skip weights of ``S`` and the level are profiled (least squares of ``u`` on
    ``x_S`` and 1, through the Gram matrix), and
    ``BIC(S) = n log(RSS/n) + (k_rest + |S| + 1) log n`` up to a constant.
    """

    def __init__(self, x: np.ndarray) -> None:
        self.n, self.p = x.shape
        self.z = np.column_stack([x, np.ones(self.n)])
        self.gram = self.z.T @ self.z
        self.log_n = math.log(self.n)

    def _fit(self, cu: np.ndarray, uu: float, subset) -> tuple[float, np.ndarray]:
        cols = [*subset, self.p]
        coef = np.linalg.solve(self.gram[np.ix_(cols, cols)], cu[cols])
        return max(uu - float(cu[cols] @ coef), 1e-300), coef

    def best(self, u: np.ndarray, k_rest: int, current, search: str):
        """``(bic, subset, coef)``: all subsets (``"exhaustive"``) or greedy add-or-drop
        moves from ``current`` (``"greedy"``); ``coef``: the subset's weights, then the level.
        """
        cu, uu = self.z.T @ u, float(u @ u)

        def score(subset):
            rss, _ = self._fit(cu, uu, subset)
            return self.n * math.log(rss / self.n) + (k_rest + len(subset) + 1) * self.log_n

        if search == "exhaustive":
            subsets = itertools.chain.from_iterable(
                itertools.combinations(range(self.p), r) for r in range(self.p + 1)
            )
            bic, best = min(((score(s), s) for s in subsets), key=lambda t: t[0])
        else:
            best = tuple(int(j) for j in current)
            bic = score(best)
            while True:
                moves = [tuple(sorted(set(best) ^ {j})) for j in range(self.p)]
                cand = min(((score(m), m) for m in moves), key=lambda t: t[0])
                if cand[0] >= bic:
                    break
                bic, best = cand
        return bic, best, self._fit(cu, uu, best)[1]


def points(module, inputs, targets, sample: str):
    """Lag vectors and partial residuals ``z - g(x)`` (``g``: the output without the skip
    path and the level) at the scored points, or at every point from ``lags`` on
    (``sample="all"``: the first window's burn-in steps too, the sample of statsmodels'
    search)."""
    burn = inputs.shape[1] - targets.shape[1]
    g = module(inputs) - module.skip(inputs).squeeze(-1) - module.head.bias
    p = inputs.shape[-1]
    x = inputs[:, burn:, :].reshape(-1, p)
    u = targets.reshape(-1) - g[:, burn:].reshape(-1)
    if sample == "all" and burn > 0:
        x = torch.cat([inputs[0, :burn, :], x])
        # the target at burn-in step s of the first window is lag 1 at step s + 1
        u = torch.cat([inputs[0, 1 : burn + 1, 0] - g[0, :burn], u])
    return x.double().cpu().numpy(), u.double().cpu().numpy()


def network_groups(module) -> list[tuple[str, dict]]:
    """The recurrent part's groups: every hidden unit, and every input's first-layer column
    without its skip weight."""
    groups = []
    for label, group in module.prunable_groups():
        group = {k: m for k, m in group.items() if k != "skip.weight"}
        if group:
            groups.append((label, group))
    return groups


def _k_rest(masks) -> int:
    """Non-zero weights outside the skip path and the level."""
    return sum(int(m.sum()) for m in masks.values()) - int(masks["skip.weight"].sum()) - 1


@torch.no_grad()
def linear_path_search(module, masks, inputs, targets, search, sample, profile):
    """The skip lags and the level re-chosen by BIC with the recurrent part fixed; with
    ``profile``, first remove, one at a time, the recurrent group (unit or input column)
    whose removal lowers the BIC of the best linear path most, the linear path re-chosen
    for every candidate (a backward elimination with the linear path profiled). Parameters
    change in place (``masks`` applied); the new masks are returned."""
    masks = {k: v.clone() for k, v in masks.items()}
    params = dict(module.named_parameters())
    x, u = points(module, inputs, targets, sample)
    path = LinearPath(x)
    current = np.flatnonzero(masks["skip.weight"].reshape(-1).cpu().numpy())
    bic, best, coef = path.best(u, _k_rest(masks), current, search)
    while profile:
        trial = None
        for _label, group in network_groups(module):
            live = {k: group[k].to(masks[k].device) & masks[k] for k in group}
            k_live = sum(int(m.sum()) for m in live.values())
            if k_live == 0:
                continue
            saved = {k: params[k][m].clone() for k, m in live.items() if m.any()}
            for k in saved:
                params[k][live[k]] = 0.0
            _, u_without = points(module, inputs, targets, sample)
            for k, values in saved.items():
                params[k][live[k]] = values
            result = path.best(u_without, _k_rest(masks) - k_live, best, search)
            if result[0] < bic and (trial is None or result[0] < trial[0][0]):
                trial = (result, live)
        if trial is None:
            break
        (bic, best, coef), live = trial
        for k, m in live.items():
            masks[k] &= ~m
        masks = module.simplify(masks)  # zeroes the removed weights and dead units
        x, u = points(module, inputs, targets, sample)
    keep = torch.zeros(path.p, dtype=torch.bool, device=masks["skip.weight"].device)
    keep[list(best)] = True
    w = torch.zeros(path.p, dtype=module.skip.weight.dtype, device=module.skip.weight.device)
    w[list(best)] = torch.as_tensor(coef[:-1], dtype=w.dtype, device=w.device)
    module.skip.weight.copy_(w.reshape(1, path.p))
    module.head.bias.fill_(float(coef[-1]))
    masks["skip.weight"] = keep.reshape(1, path.p)
    return masks


def linear_path_after_fit(data: Data, module, search, sample, profile, refit_epochs, seed):
    """After the fit: :func:`linear_path_search`, then a short refit."""
    masks = linear_path_search(
        module, get_masks(module), data.inputs, data.targets, search, sample, profile
    )
    apply_masks(module, masks, warn=False)
    data.refit(module, refit_epochs, seed)
    return module


def linear_path_hook(base, inputs, targets, search, sample, profile, module, masks):
    """Inside the pipeline (a restart's ``simplify`` hook, before bsdl's refit): bsdl's own
    simplification (threshold masks, BIC elimination of units and lags), then
    :func:`linear_path_search`."""
    masks = base(module, masks)
    return linear_path_search(module, masks, inputs, targets, search, sample, profile)


class LinearPathRNN(SparseRNN):
    """``SparseRNN`` whose restarts end their simplification with :func:`linear_path_hook`
    (``search``, ``sample`` and ``profile`` are class attributes, so ``get_params`` is
    SparseRNN's)."""

    search = "exhaustive"
    sample = "scored"
    profile = False

    def _simplify(self, mse):
        inputs, targets = mse.args  # partial(full_loss, inputs, targets)
        return partial(
            linear_path_hook,
            super()._simplify(mse),
            inputs,
            targets,
            self.search,
            self.sample,
            self.profile,
        )


def recurrence_groups(module) -> list[tuple[str, dict]]:
    """The recurrent weights of each unit of the first layer (its gate rows and its column of
    ``U``), then all of ``U``: removing them makes an Elman unit a function of its input
    lags only."""
    name = "recurrent_layers.0.weight"
    u = dict(module.named_parameters())[name]
    hidden = module.hidden_size
    blocks = u.shape[0] // hidden
    groups = []
    for j in range(hidden):
        m = torch.zeros_like(u, dtype=torch.bool)
        m[[b * hidden + j for b in range(blocks)], :] = True
        m[:, j] = True
        groups.append((f"recurrence {j}", {name: m}))
    groups.append(("recurrence", {name: torch.ones_like(u, dtype=torch.bool)}))
    return groups


def joint_refit(data: Data, module, refit_epochs: int, seed: int):
    """The linear path by BIC (exhaustive, scored points) and a short refit; then a backward
    elimination over the recurrent part's groups (units, input columns, recurrent weights)
    in which every candidate removal is refitted for ``refit_epochs`` epochs with its linear
    path re-chosen, and the removal that lowers BIC most is kept, while BIC falls."""
    module = linear_path_after_fit(data, module, "exhaustive", "scored", False, refit_epochs, seed)
    bic = data.bic(module)
    while True:
        best = None
        masks = get_masks(module)
        for _label, group in network_groups(module) + recurrence_groups(module):
            live = {k: group[k] & masks[k] for k in group}
            if not any(bool(m.any()) for m in live.values()):
                continue
            trial = copy.deepcopy(module)
            cut = {k: (v & ~live[k]) if k in live else v.clone() for k, v in masks.items()}
            with torch.no_grad():
                cut = trial.simplify(cut)
            apply_masks(trial, cut, warn=False)
            trial = linear_path_after_fit(
                data, trial, "exhaustive", "scored", False, refit_epochs, seed
            )
            b = data.bic(trial)
            if b < bic and (best is None or b < best[0]):
                best = (b, trial)
        if best is None:
            return module
        bic, module = best


def forward_refit(data: Data, module, refit_epochs: int, seed: int):
    """Forward steps: re-admit the pruned lag whose skip weight, after a short refit, lowers
    BIC most; repeat while BIC falls."""
    current, current_bic = module, data.bic(module)
    while True:
        resid = data.z - _predict(current, data)
        best = None
        for j in range(LAGS):
            if j + 1 in selected(current):
                continue
            trial = copy.deepcopy(current)
            masks = {k: v.clone() for k, v in get_masks(trial).items()}
            masks["skip.weight"][0, j] = True
            xj = data.x[:, j] - data.x[:, j].mean()
            with torch.no_grad():
                trial.skip.weight[0, j] = float(xj @ resid / (xj @ xj))
            apply_masks(trial, masks, warn=False)
            data.refit(trial, refit_epochs, seed)
            b = data.bic(trial)
            if best is None or b < best[0]:
                best = (b, trial)
        if best is None or best[0] >= current_bic:
            return current
        current_bic, current = best


@torch.no_grad()
def _predict(module, data: Data) -> np.ndarray:
    return module(data.inputs)[:, BURN_IN:].reshape(-1).double().numpy()


# ---------------------------------------------------------------- one replicate
def run_methods(design, n, rep, fits: dict, methods: list[str]) -> list[dict]:
    torch.set_num_threads(1)
    true = set(DESIGNS[design])
    y = simulate(design, n, rep)
    rows = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from statsmodels.tsa.ar_model import ar_select_order

        glob = ar_select_order(y, maxlag=LAGS, ic="bic", glob=True).ar_lags
    glob = sorted(int(j) for j in (glob if glob is not None else []))
    base = dict(design=design, n=n, rep=rep)
    default_s = fits["c1"]["seconds"]
    rows.append(
        dict(
            base,
            method="global BIC",
            lags=glob,
            exact=set(glob) == true,
            ratio=np.nan,
            seconds=time.perf_counter() - t0,
        )
    )
    models = {
        name: bsdl.load(info["path"], device="cpu")
        for name, info in fits.items()
        if FITS[name][2] is None
    }
    for name, model in models.items():
        fits[name]["bic"] = model.bic_
    data = Data(models["c1"])
    for name, model in models.items():  # the recomputed BIC is bsdl's
        if not math.isclose(data.bic(model.module_), model.bic_, rel_tol=1e-5, abs_tol=1e-3):
            raise RuntimeError(
                f"BIC mismatch for {name}: {data.bic(model.module_)} vs {model.bic_}"
            )
    for method in methods:
        need = METHODS[method]
        t0 = time.perf_counter()
        short = max(1, max(1, models["c1"].n_epochs_ // 5) // 4)  # refit_epochs="auto" / 4
        if method in POST_HOC or method in ("fwd-refit", "joint-refit", "rnn+joint-refit"):
            cands = []
            for name in need:
                module = copy.deepcopy(models[name].module_)
                if method == "fwd-refit":
                    module = forward_refit(data, module, short, rep)
                elif method.endswith("joint-refit"):
                    module = joint_refit(data, module, short, rep)
                else:
                    search, sample, profile = POST_HOC[method]
                    module = linear_path_after_fit(
                        data, module, search, sample, profile, short, rep
                    )
                cands.append((data.bic(module), selected(module)))
            bic_, lags = min(cands, key=lambda t: t[0])
        else:
            bic_, lags = min((fits[k]["bic"], fits[k]["lags"]) for k in need)
        seconds = time.perf_counter() - t0 + sum(fits[k]["seconds"] for k in need)
        rows.append(
            dict(
                base,
                method=method,
                lags=[int(j) for j in lags],
                exact=set(lags) == true,
                bic=float(bic_),
                seconds=seconds,
                ratio=seconds / default_s,
            )
        )
    return rows


# ---------------------------------------------------------------- the study
def cells(args) -> list[tuple[str, int]]:
    designs = {"both": ["linear", "nonlinear"], "all": list(DESIGNS)}.get(
        args.design, [args.design]
    )
    if args.ns:
        ns = [int(v) for v in args.ns.split(",")]
        return [(d, n) for d in designs for n in ns]
    default = {"linear": [200, 500, 1000], "nonlinear": [1000], "even": [1000]}
    return [(d, n) for d in designs for n in default[d]]


def table(rows: list[dict], methods: list[str], grid: list[tuple[str, int]], reps: int) -> str:
    head = "| method | " + " | ".join(f"{d} n={n}" for d, n in grid) + " |"
    lines = [head, "|" + "---|" * (len(grid) + 1)]
    for method in ["global BIC", *methods]:
        cellsx = []
        for d, n in grid:
            sel = [r for r in rows if r["method"] == method and r["design"] == d and r["n"] == n]
            p = float(np.mean([r["exact"] for r in sel])) if sel else float("nan")
            se = math.sqrt(p * (1 - p) / len(sel)) if sel else float("nan")
            ratio = np.median([r["ratio"] for r in sel]) if sel else float("nan")
            time_txt = "" if method == "global BIC" else f"; x{ratio:.2f}"
            cellsx.append(f"{p:.2f} ({se:.2f}{time_txt})")
        lines.append(f"| {method} | " + " | ".join(cellsx) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--design",
        choices=[*DESIGNS, "both", "all"],
        default="both",
        help="both: linear and nonlinear",
    )
    parser.add_argument("--ns", default="", help="comma-separated series lengths")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--first-rep", type=int, default=0)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--cache", default="/tmp/bsdl_lag_selection_cache")
    parser.add_argument(
        "--cache-tag",
        default="",
        help="sub-folder of --cache (default: a hash of the fitting code); a fixed tag reuses "
        "fits across edits that do not change them (check that they reproduce)",
    )
    parser.add_argument("--json", default="")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {list(METHODS)}")
    n_epochs = "auto"
    if args.quick:
        args.ns, args.reps, n_epochs = "300", 1, 40
    grid = cells(args)
    reps = range(args.first_rep, args.first_rep + args.reps)
    cache = Path(args.cache) / (args.cache_tag or code_hash())
    cache.mkdir(parents=True, exist_ok=True)
    need = sorted({f for m in methods for f in METHODS[m]} | {"c1"})
    tasks = [(d, n, r, f) for d, n in grid for r in reps for f in need]
    start = time.perf_counter()
    done = Parallel(n_jobs=args.n_jobs)(
        delayed(fit_one)(d, n, r, f, cache, n_epochs) for d, n, r, f in tasks
    )
    fits = {t: info for t, info in zip(tasks, done)}
    rows = []
    for d, n in grid:
        for r in reps:
            mine = {f: fits[(d, n, r, f)] for f in need}
            rows += run_methods(d, n, r, mine, methods)
            print(
                f"{d} n={n} rep={r}: "
                + "; ".join(
                    f"{x['method']} {x['lags']}"
                    for x in rows
                    if (x["design"], x["n"], x["rep"]) == (d, n, r)
                ),
                flush=True,
            )
    print(
        f"\nbsdl {bsdl.__version__}, cache tag {cache.name}, torch threads 1, "
        f"{time.perf_counter() - start:.0f} s, reps {list(reps)}"
    )
    print("exact lag-set recovery (binomial se; median time / default fit)\n")
    print(table(rows, methods, grid, args.reps))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=float))


if __name__ == "__main__":
    main()
