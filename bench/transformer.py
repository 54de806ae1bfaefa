#!/usr/bin/env python
"""SparseTransformer against SparseRNN and dense transformers: fit time and one-step RMSE.

For each simulated design and seed it fits, in one process, on the same first ``n``
points of one series, and scores one-step forecasts on the ``--n-test`` points after them:

1. ``SparseTransformer(lags=10, random_state=seed).fit(y[:n])`` with its defaults (prior
   annealing, pruning, BIC simplification, refit, Fisher information);
2. ``SparseRNN(lags=10, random_state=seed).fit(y[:n])`` with its defaults;
3. **dense LagTransformer**: the same network (:class:`bsdl.nn.LagTransformer`, the
   fitted ``SparseTransformer``'s sizes, skip path started at least squares as bsdl does)
   trained by a plain Adam loop without the prior and without pruning, on the same
   standardised lag windows, same learning rate, batch size and number of optimiser steps
   (the sparse fit's annealing plus refit epochs);
4. **dense torch encoder**: the same loop with PyTorch's own layers
   (``nn.TransformerEncoderLayer``, causal mask, GELU, no dropout, its layer norms) between
   the same input projection, linear head and least-squares skip path;
5. for context, statsmodels' ``AutoReg`` at the global-BIC lags
   (:func:`bsdl.baselines.baseline_bic_lags`, all subsets of 1..10), a linear model.

Times: the fit (or the training loop, windows included) in seconds; for the sparse
models also ``predict_interval`` along the held-out points and for 12 steps beyond the
training data. RMSE: one-step forecasts of the held-out points from their observed past,
on the original scale. Designs: ``make_ar`` (true lags {1, 3, 7}) and
``make_nonlinear_ar`` (true lags {1, 2, 5}), the series of seed ``s`` drawn with
``default_rng([d, s, n])``. A tiny fit of each kind first takes one-time costs (lazy
imports) out of the timings; the order of the five methods rotates with the seed.

Run ``python bench/transformer.py`` (full: n = 1000, 3 seeds, a few minutes on 2 cores)
or ``--quick`` (seconds, without the warm-up; tests/test_bench.py runs it).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from _machine import loadavg, machine
from torch import nn

from bsdl import SparseRNN, SparseTransformer
from bsdl.baselines import autoreg_forecasts, baseline_bic_lags
from bsdl.datasets import make_ar, make_nonlinear_ar
from bsdl.models._windows import lag_windows, least_squares_start, training_ends
from bsdl.nn import LagTransformer, reset_parameters

LAGS = 10
ALPHA = 0.1
FORECAST_STEPS = 12
DESIGNS = {"linear AR": make_ar, "nonlinear AR": make_nonlinear_ar}
METHODS = ("sparse_transformer", "sparse_rnn", "dense_lagtransformer", "dense_torch", "autoreg")
LABELS = {
    "sparse_transformer": "SparseTransformer",
    "sparse_rnn": "SparseRNN",
    "dense_lagtransformer": "dense LagTransformer",
    "dense_torch": "dense torch encoder",
    "autoreg": "AutoReg (global BIC)",
}


# ----------------------------------------------------------------------------- data
def series(design: str, n: int, n_test: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([list(DESIGNS).index(design), seed, n])
    return DESIGNS[design](n + n_test, random_state=rng)


def rmse(y_test: np.ndarray, mean) -> float:
    mean = np.asarray(mean, dtype=float)[-len(y_test) :]
    return float(np.sqrt(np.mean((y_test - mean) ** 2)))


# ----------------------------------------------------------------------------- the sparse fits
def run_sparse(kind: str, y: np.ndarray, n: int, n_epochs, seed: int, device: str) -> dict:
    cls = SparseTransformer if kind == "sparse_transformer" else SparseRNN
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = cls(lags=LAGS, n_epochs=n_epochs, random_state=seed, device=device)
        start = time.perf_counter()
        model.fit(y[:n])
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        pi = model.predict_interval(series=y, alpha=ALPHA)
        one_step_s = time.perf_counter() - start
        start = time.perf_counter()
        model.predict_interval(steps=FORECAST_STEPS, alpha=ALPHA)
        forecast_s = time.perf_counter() - start
    return {
        "model": model,
        "seconds": fit_s,
        "one_step_seconds": one_step_s,
        "forecast_seconds": forecast_s,
        "rmse": rmse(y[n:], pi.mean),
        "selected_lags": [int(v) for v in model.selected_lags_],
        "n_params": int(model.n_params_),
        "n_nonzero": int(model.n_nonzero_),
        "warnings": sorted({type(w.message).__name__ for w in caught}),
    }


# ----------------------------------------------------------------------------- the dense loops
class TorchEncoder(nn.Module):
    """PyTorch's encoder layers between bsdl's input projection, head and skip path."""

    def __init__(self, n_inputs: int, d_model: int, n_heads: int, layers: int, ff: int) -> None:
        super().__init__()
        self.in_proj = nn.Linear(n_inputs, d_model, bias=False)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, ff, dropout=0.0, activation="gelu", batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 1)
        self.skip = nn.Linear(n_inputs, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1], device=x.device)
        h = self.encoder(self.in_proj(x), mask=mask, is_causal=True)
        return (self.head(h) + self.skip(x)).squeeze(-1)


def run_dense(kind: str, sparse: SparseTransformer, y: np.ndarray, n: int, seed: int, device: str):
    """Train the dense network with plain Adam for the sparse fit's number of steps."""
    start = time.perf_counter()
    lags, window, burn_in = int(sparse.lags_), int(sparse.window_), int(sparse.burn_in_)
    train = y[:n]
    mu, sd = train.mean(), train.std() if train.std() > 0 else 1.0
    z = torch.as_tensor((y - mu) / sd, dtype=torch.float32, device=device)
    ends = training_ends(n, lags, window, burn_in).to(device)
    inputs = lag_windows(z, None, lags, window, ends)
    scored = window - burn_in
    targets = z[ends.reshape(-1, 1) - (scored - 1) + torch.arange(scored, device=device)]
    sizes = (sparse.d_model_, sparse.n_heads_, sparse.num_layers_, sparse.dim_feedforward_)
    with torch.random.fork_rng(devices=[]):  # module constructors draw from the global RNG
        if kind == "dense_lagtransformer":
            net = LagTransformer(inputs.shape[-1], *sizes, skip=True, norm=sparse.norm_)
        else:
            net = TorchEncoder(inputs.shape[-1], *sizes)
    gen = torch.Generator().manual_seed(seed)
    reset_parameters(net, gen)
    coef = least_squares_start(inputs, targets, burn_in)  # as SparseTransformer starts
    with torch.no_grad():
        net.skip.weight.copy_(coef[:-1].reshape(net.skip.weight.shape))
        net.head.bias.fill_(float(coef[-1]))
    net = net.to(device)
    refit_epochs = int((sparse.history_["phase"] == "refit").sum())
    batch = min(int(sparse.batch_size_), inputs.shape[0])
    steps = math.ceil(inputs.shape[0] / batch)
    for n_epochs in (int(sparse.n_epochs_), refit_epochs):  # a fresh Adam for the refit
        opt = torch.optim.Adam(net.parameters(), lr=float(sparse.lr))
        for _ in range(n_epochs):
            perm = torch.randperm(inputs.shape[0], generator=gen).to(device)
            for i in range(steps):
                idx = perm[i * batch : (i + 1) * batch]
                opt.zero_grad()
                loss = 0.5 * (net(inputs[idx])[:, -scored:] - targets[idx]).pow(2).mean()
                loss.backward()
                opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():  # one-step forecasts of the held-out points from the observed past
        test_ends = torch.arange(n, len(y), device=device)
        pred = net(lag_windows(z, None, lags, window, test_ends))[:, -1].cpu().numpy()
    return {
        "seconds": seconds,
        "rmse": rmse(y[n:], mu + sd * pred),
        "n_params": sum(p.numel() for p in net.parameters()),
        "optimizer_steps": (int(sparse.n_epochs_) + refit_epochs) * steps,
    }


def run_autoreg(y: np.ndarray, n: int) -> dict:
    start = time.perf_counter()
    search = baseline_bic_lags(y[:n], LAGS)
    fc = autoreg_forecasts(y[:n], search.bic_lags, series=y, alpha=ALPHA).one_step
    return {
        "seconds": time.perf_counter() - start,
        "rmse": rmse(y[n:], fc.mean),
        "selected_lags": [int(v) for v in search.bic_lags],
    }


def warm_up(device: str) -> float:
    """One-time costs (imports, torch.func) of a first tiny fit of each kind."""
    start = time.perf_counter()
    y = make_ar(160, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_sparse("sparse_rnn", y, 130, 2, 0, device)
        out = run_sparse("sparse_transformer", y, 130, 2, 0, device)
        for kind in ("dense_lagtransformer", "dense_torch"):
            run_dense(kind, out["model"], y, 130, 0, device)
        run_autoreg(y, 130)
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- one case
def bench_case(design: str, seed: int, args) -> dict:
    y = series(design, args.n, args.n_test, seed)
    k = seed % 4  # rotate the order of the networks; the sparse transformer sets the steps
    order = ["sparse_rnn", "dense_lagtransformer", "dense_torch", "autoreg"]
    order = order[k:] + order[:k]
    out: dict = {
        "sparse_transformer": run_sparse(
            "sparse_transformer", y, args.n, args.n_epochs, seed, args.device
        )
    }
    sparse = out["sparse_transformer"]["model"]
    for method in order:
        if method == "sparse_rnn":
            out[method] = run_sparse(method, y, args.n, args.n_epochs, seed, args.device)
        elif method == "autoreg":
            out[method] = run_autoreg(y, args.n)
        else:
            out[method] = run_dense(method, sparse, y, args.n, seed, args.device)
    for method in ("sparse_transformer", "sparse_rnn"):
        out[method].pop("model")
    return {"design": design, "seed": seed, "n": args.n, "n_test": args.n_test, **out}


# ----------------------------------------------------------------------------- output
def median(values) -> float:
    return float(statistics.median(values))


def summarise(runs: list[dict]) -> list[dict]:
    rows = []
    for design in dict.fromkeys(r["design"] for r in runs):
        sub = [r for r in runs if r["design"] == design]
        rnn_s = [r["sparse_rnn"]["seconds"] for r in sub]
        for method in METHODS:
            secs = [r[method]["seconds"] for r in sub]
            errs = [r[method]["rmse"] for r in sub]
            row = {
                "design": design,
                "method": method,
                "seeds": len(sub),
                "fit_seconds": median(secs),
                "ratio_to_sparse_rnn": median([s / b for s, b in zip(secs, rnn_s)]),
                "rmse_mean": float(np.mean(errs)),
                "rmse_sd": float(np.std(errs, ddof=1)) if len(errs) > 1 else 0.0,
            }
            if method.startswith("sparse"):
                row["one_step_seconds"] = median([r[method]["one_step_seconds"] for r in sub])
                row["forecast_seconds"] = median([r[method]["forecast_seconds"] for r in sub])
            if "selected_lags" in sub[0][method]:
                row["selected_lags"] = [" ".join(map(str, r[method]["selected_lags"])) for r in sub]
            rows.append(row)
    return rows


def table(rows: list[dict], n: int, n_test: int) -> str:
    head = (
        f"| design | method | fit s (median) | / SparseRNN | one-step RMSE ({n_test} pts, "
        "mean ± sd) | intervals s: one-step / 12-step | selected lags per seed |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        iv = (
            f"{r['one_step_seconds']:.3f} / {r['forecast_seconds']:.3f}"
            if "one_step_seconds" in r
            else ""
        )
        lags = "; ".join(r.get("selected_lags", [])) or ("" if "selected_lags" not in r else "none")
        lines.append(
            f"| {r['design']} (n = {n}) | {LABELS[r['method']]} | {r['fit_seconds']:.2f} "
            f"| {r['ratio_to_sparse_rnn']:.2f} | {r['rmse_mean']:.4f} ± {r['rmse_sd']:.4f} "
            f"| {iv} | {lags} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="n=300, 1 seed, 20 epochs, linear")
    parser.add_argument("--n", type=int, default=None, help="training points (1000; quick 300)")
    parser.add_argument("--n-test", type=int, default=None, help="held-out (500; quick 100)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..k-1 (3; quick 1)")
    parser.add_argument(
        "--n-epochs", default=None, help='sparse fits\' n_epochs ("auto"; quick 20)'
    )
    parser.add_argument("--designs", default=None, help="comma-separated (default both)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (1)")
    parser.add_argument("--device", default="cpu", help="torch device for every model (cpu)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    args.n = args.n or (300 if args.quick else 1000)
    args.n_test = args.n_test or (100 if args.quick else 500)
    args.seeds = args.seeds or (1 if args.quick else 3)
    if args.n_epochs is None:
        args.n_epochs = 20 if args.quick else "auto"
    elif args.n_epochs != "auto":
        args.n_epochs = int(args.n_epochs)
    designs = args.designs or ("linear AR" if args.quick else ",".join(DESIGNS))
    args.designs = [d.strip() for d in designs.split(",")]
    if bad := [d for d in args.designs if d not in DESIGNS]:
        parser.error(f"unknown design(s) {bad}; choose from {list(DESIGNS)}")
    if args.threads < 1 or args.seeds < 1:
        parser.error("--threads and --seeds must be >= 1")
    torch.set_num_threads(args.threads)

    info = machine()
    info["loadavg_start"] = loadavg()
    print(
        f"# SparseTransformer vs SparseRNN vs dense transformers "
        f"({'quick' if args.quick else 'full'}); device={args.device}; torch {info['torch']}; "
        f"torch.get_num_threads()={torch.get_num_threads()}; cpu_count={info['cpu_count']}; "
        f"{info['processor']}; load average {info['loadavg_start']}"
    )
    print(
        f"# lags={LAGS}, n={args.n}, held-out {args.n_test}, seeds 0..{args.seeds - 1}, "
        f"sparse n_epochs={args.n_epochs!r}; medians over seeds"
    )
    start = time.perf_counter()
    warm_s = 0.0 if args.quick else warm_up(args.device)  # quick: a smoke run, no timings
    runs = []
    for design in args.designs:
        for seed in range(args.seeds):
            run = bench_case(design, seed, args)
            runs.append(run)
            print(
                f"  done: {design}, seed {seed}: "
                + ", ".join(f"{m} {run[m]['seconds']:.1f} s" for m in METHODS),
                file=sys.stderr,
            )
    rows = summarise(runs)
    print()
    print(table(rows, args.n, args.n_test))
    print()
    steps = sorted({r["dense_lagtransformer"]["optimizer_steps"] for r in runs})
    print(
        f"Dense loops: plain Adam, {', '.join(map(str, steps))} optimiser steps (the sparse "
        f"transformer's annealing + refit epochs). One-time warm-up (not above): {warm_s:.1f} s."
    )
    if warns := sorted({w for r in runs for m in METHODS[:2] for w in r[m]["warnings"]}):
        print(f"(warnings during the sparse fits: {', '.join(warns)})")
    print()
    by = {(r["design"], r["method"]): r for r in rows}
    for design in args.designs:
        for method in ("sparse_transformer", "dense_lagtransformer", "dense_torch"):
            r = by[(design, method)]
            print(f"ratio {method}/sparse_rnn fit: {r['ratio_to_sparse_rnn']:.2f} ({design})")
        t, rnn = by[(design, "sparse_transformer")], by[(design, "sparse_rnn")]
        print(
            f"rmse sparse_transformer/sparse_rnn: {t['rmse_mean'] / rnn['rmse_mean']:.3f} "
            f"({design})"
        )
    info["loadavg_end"] = loadavg()
    info["total_seconds"] = time.perf_counter() - start
    info["warmup_seconds"] = warm_s
    ratios = [by[(d, "sparse_transformer")]["ratio_to_sparse_rnn"] for d in args.designs]
    print(
        f"summary: sparse_transformer/sparse_rnn fit {min(ratios):.2f}-{max(ratios):.2f}; "
        f"load average {info['loadavg_start']} -> {info['loadavg_end']}; "
        f"{info['total_seconds']:.0f} s"
    )
    if args.json:
        config = {
            "mode": "quick" if args.quick else "full",
            **{k: getattr(args, k) for k in ("n", "n_test", "seeds", "n_epochs", "designs")},
            "threads": args.threads,
            "device": args.device,
            "lags": LAGS,
            "alpha": ALPHA,
        }
        with open(args.json, "w") as fh:
            json.dump(
                {"machine": info, "config": config, "runs": runs, "summary": rows}, fh, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
