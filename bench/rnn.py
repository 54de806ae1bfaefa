#!/usr/bin/env python
"""SparseRNN cost: the fit against a plain PyTorch loop and statsmodels, and its intervals.

For each series and cell (``"lstm"``, ``"gru"``, ``"rnn"``) it times, in one process and
on the same data:

1. ``SparseRNN(lags=10, cell=..., random_state=seed).fit(y)`` with its defaults (prior
   annealing, pruning, refit, then the Fisher information and BIC), against a *plain
   PyTorch loop* training the standard ``torch.nn.LSTM`` / ``GRU`` / ``RNN``
   (``batch_first``, same hidden size and layers, a linear head at every step) on the
   same standardised lag-vector windows (same lags, window length and burn-in), with
   Adam at the same learning rate, the same batch size and the same number of
   optimiser steps (the fitted ``n_epochs_`` annealing epochs plus the refit epochs
   read from ``history_``; a fresh Adam for the refit, as bsdl does; no prior, no mask).
   A second plain loop trains bsdl's own :class:`bsdl.nn.LagRNN` (cells written with
   tensor operations so that ``torch.func`` can differentiate through them) and so
   separates the engine/pipeline cost from the cell implementation.
2. For context, statsmodels ``AutoReg(y, lags=10).fit()`` and
   ``ar_select_order(y, maxlag=10)``: *linear* autoregressions (least squares), not
   networks.
3. ``predict_interval(series=...)`` along the last (up to) 1000 points of the training
   series (one-step intervals from the observed past) and ``predict_interval(steps=12)``
   (recursive forecast with delta-method and propagated-innovation variance), in seconds
   and relative to the fit.

The annealing/refit split of the fit comes from a timing callback that
``bsdl.inference.training_callbacks`` adds to every ``bsdl.inference.train`` run of the
fit (from ``on_train_begin`` to ``on_train_end``); the rest of the fit ("other") is
standardisation, windows, pruning, Fisher information, covariance and information
criteria. A tiny fit and interval call first take one-time
costs (lazy imports such as ``torch.func``) out of the timings. Timed runs rotate their
order every repetition; tables give medians over ``--repeats``.

Run ``python bench/rnn.py`` (full, several minutes on 2 cores) or ``--quick`` (seconds).
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
import pandas as pd
import torch
from _machine import loadavg, machine
from torch import nn

from bsdl import SparseRNN
from bsdl.datasets import load_sunspots, make_ar
from bsdl.inference import Callback, training_callbacks
from bsdl.inference.engine import auto_threads
from bsdl.models._windows import lag_windows, training_ends
from bsdl.nn import LagRNN

LAGS = 10
ONE_STEP_POINTS = 1000
FORECAST_STEPS = 12
ALPHA = 0.1
METHODS = ("bsdl", "plain", "plain_lagrnn")
TORCH_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


# ----------------------------------------------------------------------------- data
def datasets(args) -> list[tuple[str, object, tuple[str, ...]]]:
    """(label, series, cells) triples."""
    out = [(f"make_ar(n={args.n})", make_ar(args.n, random_state=args.seed), args.cells)]
    if args.sunspots:
        out.append(("load_sunspots() (n=309)", load_sunspots(), ("lstm",)))
    return out


def windows(values: np.ndarray, lags: int, window: int, burn_in: int):
    """Standardised lag-vector windows and targets, built exactly as SparseRNN.fit does."""
    y = np.asarray(values, dtype=np.float64)
    scale = y.std() if y.std() > 0 else 1.0
    z = torch.as_tensor((y - y.mean()) / scale, dtype=torch.float32)
    ends = training_ends(y.size, lags, window, burn_in)
    inputs = lag_windows(z, None, lags, window, ends)
    steps = torch.arange(window - burn_in)
    targets = z[ends.reshape(-1, 1) - (window - burn_in - 1) + steps]
    return inputs, targets


# ----------------------------------------------------------------------------- the loops
class TorchRecurrent(nn.Module):
    """``torch.nn.LSTM``/``GRU``/``RNN`` (batch_first) with a linear head at every step."""

    def __init__(self, cell: str, n_inputs: int, hidden: int, layers: int, skip: bool) -> None:
        super().__init__()
        self.rnn = TORCH_CELLS[cell](n_inputs, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)
        # SparseRNN(skip=True): a bias-free linear map of each step's input added to its output
        self.skip = nn.Linear(n_inputs, 1, bias=False) if skip else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.rnn(x)[0]).squeeze(-1)
        return out if self.skip is None else out + self.skip(x).squeeze(-1)


def run_plain(
    kind: str, model: SparseRNN, values, epochs: tuple[int, int], seed: int, device: str = "cpu"
) -> dict:
    """Train from scratch: windows, model, Adam; ``epochs`` = (annealing, refit) epochs."""
    start = time.perf_counter()
    inputs, targets = windows(values, model.lags_, model.window_, model.burn_in_)
    inputs, targets = inputs.to(device), targets.to(device)
    torch.manual_seed(seed)
    shape = (inputs.shape[-1], model.hidden_size, model.num_layers)
    skip = bool(getattr(model, "skip", False))  # older SparseRNN versions have no skip
    if kind == "plain":
        net = TorchRecurrent(model.cell, *shape, skip)
    elif skip:
        net = LagRNN(*shape, model.cell, skip=True)
    else:
        net = LagRNN(*shape, model.cell)
    net = net.to(device)
    gen = torch.Generator().manual_seed(seed + 1)
    n, batch = inputs.shape[0], min(int(model.batch_size_), inputs.shape[0])
    steps = math.ceil(n / batch)
    scored = targets.shape[1]
    for n_epochs in epochs:  # a fresh Adam for the refit phase, as bsdl does
        opt = torch.optim.Adam(net.parameters(), lr=float(model.lr))
        for _ in range(n_epochs):
            perm = torch.randperm(n, generator=gen).to(device)
            for i in range(steps):
                idx = perm[i * batch : (i + 1) * batch]
                opt.zero_grad()
                out = net(inputs[idx])[:, -scored:]
                loss = 0.5 * (out - targets[idx]).pow(2).mean()
                loss.backward()
                opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():  # the same full-data loss bsdl reports per restart
        out = net(inputs)[:, -scored:]
        train_loss = float(0.5 * (out - targets).pow(2).mean())
    return {
        "seconds": seconds,
        "n_params": sum(p.numel() for p in net.parameters()),
        "train_loss": train_loss,
    }


class TrainTimer(Callback):
    """Record (description, seconds, epochs) of every ``train`` run a fit makes."""

    def __init__(self) -> None:
        self.records: list[tuple[str, float, int]] = []

    def on_train_begin(self, state) -> None:
        self._start = time.perf_counter()

    def on_train_end(self, state) -> None:
        elapsed = time.perf_counter() - self._start
        self.records.append((state.config.desc, elapsed, len(state.history)))


def run_bsdl(values, cell: str, n_epochs, seed: int, device: str = "cpu") -> tuple[SparseRNN, dict]:
    model = SparseRNN(lags=LAGS, cell=cell, n_epochs=n_epochs, random_state=seed, device=device)
    timer = TrainTimer()
    with training_callbacks(timer):
        start = time.perf_counter()
        model.fit(values)
        seconds = time.perf_counter() - start
    records = timer.records
    anneal = sum(s for d, s, _ in records if d.endswith("anneal"))
    refit = sum(s for d, s, _ in records if d.endswith("refit"))
    return model, {"seconds": seconds, "anneal": anneal, "refit": refit}


def warm_up(seed: int, device: str = "cpu") -> float:
    """One-time costs (lazy imports, torch.func, CUDA context) of a first fit and intervals."""
    start = time.perf_counter()
    y = make_ar(120, random_state=seed)
    m = SparseRNN(
        lags=3,
        hidden_size=2,
        window=4,
        n_epochs=2,
        refit_epochs=1,
        random_state=seed,
        device=device,
    )
    m.fit(y)
    m.predict_interval(series=pd.Series(y[-20:], index=range(100, 120)), alpha=ALPHA)
    m.predict_interval(steps=2, alpha=ALPHA)
    for kind in ("plain", "plain_lagrnn"):
        run_plain(kind, m, y, (1, 1), seed, device)
    return time.perf_counter() - start


# ----------------------------------------------------------------------------- one case
def median(values: list[float]) -> float:
    return float(statistics.median(values))


def series_tail(values, m: int):
    """The last ``m`` points, placed on the training time grid (so history is used)."""
    if isinstance(values, pd.Series):
        return values.iloc[-m:]
    n = len(values)
    return pd.Series(np.asarray(values)[-m:], index=pd.RangeIndex(n - m, n))


def bench_case(label: str, values, cell: str, args) -> dict:
    reps = args.repeats
    times: dict[str, list] = {m: [] for m in METHODS}
    model = None
    caught_types: set[str] = set()
    for rep in range(reps):
        k = rep % len(METHODS)
        order = METHODS[k:] + METHODS[:k]
        # bsdl fixes the epochs and batch size: fit it first in the first repetition
        if model is None:
            order = ("bsdl",) + tuple(m for m in order if m != "bsdl")
        for method in order:
            if method == "bsdl":
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    fitted, t = run_bsdl(values, cell, args.n_epochs, args.seed, args.device)
                caught_types |= {type(w.message).__name__ for w in caught}
                if model is None:
                    model = fitted
                times["bsdl"].append(t)
            else:
                refit_epochs = int((model.history_["phase"] == "refit").sum())
                epochs = (int(model.n_epochs_), refit_epochs)
                times[method].append(
                    run_plain(method, model, values, epochs, args.seed, args.device)
                )

    refit_epochs = int((model.history_["phase"] == "refit").sum())
    n_windows = int(training_ends(len(values), LAGS, int(model.window), model.burn_in_).numel())
    batch = int(model.batch_size_)
    steps_per_epoch = math.ceil(n_windows / batch)
    anneal_steps = int(model.n_epochs_) * steps_per_epoch
    refit_steps = refit_epochs * steps_per_epoch
    fit_s = median([t["seconds"] for t in times["bsdl"]])
    anneal_s = median([t["anneal"] for t in times["bsdl"]])
    refit_s = median([t["refit"] for t in times["bsdl"]])
    other_s = median([t["seconds"] - t["anneal"] - t["refit"] for t in times["bsdl"]])
    plain_s = median([t["seconds"] for t in times["plain"]])
    lagrnn_s = median([t["seconds"] for t in times["plain_lagrnn"]])

    # intervals from the first fitted model
    m = min(ONE_STEP_POINTS, len(values) - (LAGS + int(model.window) - 1))
    tail = series_tail(values, m)
    one_step, forecast = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):
            start = time.perf_counter()
            pi = model.predict_interval(series=tail, alpha=ALPHA)
            one_step.append(time.perf_counter() - start)
            start = time.perf_counter()
            fc = model.predict_interval(steps=FORECAST_STEPS, alpha=ALPHA)
            forecast.append(time.perf_counter() - start)
    one_s, fc_s = median(one_step), median(forecast)
    total_steps = anneal_steps + refit_steps
    return {
        "dataset": label,
        "n": len(values),
        "cell": cell,
        "lags": LAGS,
        "hidden_size": int(model.hidden_size),
        "num_layers": int(model.num_layers),
        "skip": bool(getattr(model, "skip", False)),
        "window": int(model.window),
        "burn_in": int(model.burn_in_),
        "lr": float(model.lr),
        "n_windows": n_windows,
        "batch_size": batch,
        "steps_per_epoch": steps_per_epoch,
        "n_epochs": int(model.n_epochs_),
        "refit_epochs": refit_epochs,
        "optimizer_steps": total_steps,
        "device": args.device,
        "bsdl_train_threads": auto_threads(int(model.n_params_), batch, torch.device(args.device))
        or torch.get_num_threads(),
        "n_params": {
            "bsdl": int(model.n_params_),
            "plain": times["plain"][0]["n_params"],
            "plain_lagrnn": times["plain_lagrnn"][0]["n_params"],
        },
        "n_nonzero": int(model.n_nonzero_),
        "selected_lags": [int(v) for v in model.selected_lags_],
        "repeats": reps,
        "fit_seconds": fit_s,
        "anneal_seconds": anneal_s,
        "refit_seconds": refit_s,
        "other_seconds": other_s,
        "anneal_ms_per_step": 1e3 * anneal_s / max(anneal_steps, 1),
        "refit_ms_per_step": 1e3 * refit_s / max(refit_steps, 1) if refit_steps else None,
        "plain_seconds": plain_s,
        "plain_ms_per_step": 1e3 * plain_s / max(total_steps, 1),
        "plain_lagrnn_seconds": lagrnn_s,
        "plain_lagrnn_ms_per_step": 1e3 * lagrnn_s / max(total_steps, 1),
        "ratio_bsdl_plain": fit_s / plain_s,
        "ratio_bsdl_plain_lagrnn": fit_s / lagrnn_s,
        "ratio_plain_lagrnn_plain": lagrnn_s / plain_s,
        "one_step_points": len(pi.to_frame()),
        "one_step_seconds": one_s,
        "ratio_one_step_fit": one_s / fit_s,
        "forecast_steps": len(fc.to_frame()),
        "forecast_seconds": fc_s,
        "ratio_forecast_fit": fc_s / fit_s,
        "all_seconds": {
            "bsdl": [t["seconds"] for t in times["bsdl"]],
            "anneal": [t["anneal"] for t in times["bsdl"]],
            "refit": [t["refit"] for t in times["bsdl"]],
            "plain": [t["seconds"] for t in times["plain"]],
            "plain_lagrnn": [t["seconds"] for t in times["plain_lagrnn"]],
            "one_step": one_step,
            "forecast": forecast,
        },
        # 0.5 * MSE over all training windows on the standardised scale (a sanity check
        # that the loops train comparably; bsdl's is after pruning and refit)
        "train_loss": {
            "bsdl": float(model.restarts_.loc[model.restarts_["chosen"], "loss"].iloc[0]),
            "plain": times["plain"][0]["train_loss"],
            "plain_lagrnn": times["plain_lagrnn"][0]["train_loss"],
        },
        "warnings": sorted(caught_types),
    }


def bench_statsmodels(values, reps: int) -> dict:
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    y = np.asarray(values, dtype=np.float64)
    AutoReg(y, lags=LAGS).fit()  # warm-up (imports)
    ar_select_order(y, maxlag=LAGS)
    calls = max(5, 5 * reps)  # milliseconds each: more calls for a stable median
    autoreg, select = [], []
    for _ in range(calls):
        start = time.perf_counter()
        AutoReg(y, lags=LAGS).fit()
        autoreg.append(time.perf_counter() - start)
        start = time.perf_counter()
        sel = ar_select_order(y, maxlag=LAGS)
        select.append(time.perf_counter() - start)
    return {
        "autoreg_seconds": median(autoreg),
        "ar_select_order_seconds": median(select),
        "calls": calls,
        "ar_select_order_lags": [int(v) for v in (sel.ar_lags or [])],
    }


# ----------------------------------------------------------------------------- output


def fit_table(rows: list[dict]) -> str:
    head = (
        "| data | cell | windows | batch | epochs (anneal + refit) | steps | bsdl fit s "
        "| anneal s (ms/step) | refit s (ms/step) | other s | plain torch s (ms/step) "
        "| plain LagRNN s (ms/step) | bsdl/plain | bsdl/plain LagRNN | plain LagRNN/plain "
        "| AutoReg ms | ar_select_order ms | bsdl/AutoReg |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        refit = f"{r['refit_seconds']:.2f}"
        if r["refit_ms_per_step"] is not None:
            refit += f" ({r['refit_ms_per_step']:.2f})"
        lines.append(
            f"| {r['dataset']} | {r['cell']} | {r['n_windows']} | {r['batch_size']} "
            f"| {r['n_epochs']} + {r['refit_epochs']} | {r['optimizer_steps']} "
            f"| {r['fit_seconds']:.2f} | {r['anneal_seconds']:.2f} "
            f"({r['anneal_ms_per_step']:.2f}) | {refit} | {r['other_seconds']:.2f} "
            f"| {r['plain_seconds']:.2f} ({r['plain_ms_per_step']:.2f}) "
            f"| {r['plain_lagrnn_seconds']:.2f} ({r['plain_lagrnn_ms_per_step']:.2f}) "
            f"| {r['ratio_bsdl_plain']:.2f} | {r['ratio_bsdl_plain_lagrnn']:.2f} "
            f"| {r['ratio_plain_lagrnn_plain']:.2f} | {1e3 * r['autoreg_seconds']:.2f} "
            f"| {1e3 * r['ar_select_order_seconds']:.1f} | {r['ratio_bsdl_autoreg']:.0f} |"
        )
    return "\n".join(lines)


def interval_table(rows: list[dict]) -> str:
    head = (
        "| data | cell | fit s | one-step intervals: points | s | /fit "
        f"| {FORECAST_STEPS}-step forecast interval s | /fit "
        "| train loss bsdl / plain / plain LagRNN | selected lags | ar_select_order lags |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        loss = r["train_loss"]
        lines.append(
            f"| {r['dataset']} | {r['cell']} | {r['fit_seconds']:.2f} | {r['one_step_points']} "
            f"| {r['one_step_seconds']:.3f} | {r['ratio_one_step_fit']:.4f} "
            f"| {r['forecast_seconds']:.3f} | {r['ratio_forecast_fit']:.4f} "
            f"| {loss['bsdl']:.3f} / {loss['plain']:.3f} / {loss['plain_lagrnn']:.3f} "
            f"| {', '.join(map(str, r['selected_lags'])) or 'none'} "
            f"| {', '.join(map(str, r['ar_select_order_lags'])) or 'none'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="n=400, 20 epochs, lstm only")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (1 with --quick)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch.set_num_threads for every loop (default 1)"
    )
    parser.add_argument("--n", type=int, default=None, help="make_ar length (2000; quick 400)")
    parser.add_argument("--n-epochs", default=None, help='SparseRNN n_epochs ("auto"; quick 20)')
    parser.add_argument(
        "--cells", default=None, help="comma-separated (default lstm,gru,rnn; quick lstm)"
    )
    parser.add_argument(
        "--sunspots",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also load_sunspots() with the lstm cell (default: on, off with --quick)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="torch device for every loop (cpu)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    args.repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    args.n = args.n if args.n is not None else (400 if args.quick else 2000)
    if args.n_epochs is None:
        args.n_epochs = 20 if args.quick else "auto"
    elif args.n_epochs != "auto":
        args.n_epochs = int(args.n_epochs)
    cells = args.cells or ("lstm" if args.quick else "lstm,gru,rnn")
    args.cells = tuple(c.strip() for c in cells.split(","))
    if bad := [c for c in args.cells if c not in TORCH_CELLS]:
        parser.error(f"unknown cell(s) {bad}; choose from {sorted(TORCH_CELLS)}")
    if args.sunspots is None:
        args.sunspots = not args.quick
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be >= 1")
    torch.set_num_threads(args.threads)

    info = machine()
    info["loadavg_start"] = loadavg()
    print(
        f"# SparseRNN fit and interval cost ({'quick' if args.quick else 'full'}); "
        f"device={args.device}"
        + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else "")
        + "; "
        f"torch {info['torch']}; torch.get_num_threads()={torch.get_num_threads()}; "
        f"cpu_count={info['cpu_count']}; {info['processor']}; load average {info['loadavg_start']}"
    )
    skip = getattr(SparseRNN(), "skip", None)
    print(
        f"# SparseRNN(lags={LAGS}, hidden_size=8, num_layers=1, window=8, burn_in='auto', "
        f"n_epochs={args.n_epochs!r}, batch_size='auto', refit_epochs='auto'"
        + ("" if skip is None else f", skip={skip}")
        + f"); median of {args.repeats} repetition(s)"
    )
    start = time.perf_counter()
    warm_s = warm_up(args.seed, args.device)

    rows, sm = [], {}
    for label, values, cells in datasets(args):
        sm[label] = bench_statsmodels(values, args.repeats)
        for cell in cells:
            row = bench_case(label, values, cell, args)
            row.update(sm[label])
            row["ratio_bsdl_autoreg"] = row["fit_seconds"] / row["autoreg_seconds"]
            row["ratio_bsdl_ar_select_order"] = row["fit_seconds"] / row["ar_select_order_seconds"]
            rows.append(row)
            print(
                f"  done: {label}, {cell}: fit {row['fit_seconds']:.2f} s, "
                f"plain {row['plain_seconds']:.2f} s",
                file=sys.stderr,
            )

    print()
    print(f"## Fit time: median seconds over {args.repeats} repetition(s)")
    print()
    print(fit_table(rows))
    print()
    print("## Interval cost relative to the fit (first fitted model)")
    print()
    print(interval_table(rows))
    print()
    print(
        f"One-time cost of a first tiny fit + intervals + plain loops in this process "
        f"(not included above): {warm_s:.2f} s. bsdl trains on "
        f"{rows[0]['bsdl_train_threads']} thread(s) here (train(n_threads='auto')); the plain "
        f"loops, intervals and statsmodels run with torch.get_num_threads()="
        f"{torch.get_num_threads()}."
    )
    if warns := sorted({w for r in rows for w in r["warnings"]}):
        print(f"(warnings during the fits: {', '.join(warns)})")
    print()
    for r in rows:
        tag = f"({r['dataset']}, {r['optimizer_steps']} steps)"
        print(f"ratio bsdl/plain-{r['cell']}: {r['ratio_bsdl_plain']:.2f} {tag}")
        print(f"ratio bsdl/plain-lagrnn-{r['cell']}: {r['ratio_bsdl_plain_lagrnn']:.2f} {tag}")
        print(f"ratio plain-lagrnn/plain-{r['cell']}: {r['ratio_plain_lagrnn_plain']:.2f} {tag}")
    for r in rows:
        tag = f"({r['dataset']}, {r['cell']}; statsmodels fits a linear AR by least squares)"
        print(f"ratio bsdl/AutoReg: {r['ratio_bsdl_autoreg']:.0f} {tag}")
        print(f"ratio bsdl/ar_select_order: {r['ratio_bsdl_ar_select_order']:.0f} {tag}")
    for r in rows:
        tag = f"({r['dataset']}, {r['cell']})"
        print(
            f"one-step intervals ({r['one_step_points']} pts): {r['one_step_seconds']:.3f} s, "
            f"{r['ratio_one_step_fit']:.4f} x fit {tag}"
        )
        print(
            f"{FORECAST_STEPS}-step forecast interval: {r['forecast_seconds']:.3f} s, "
            f"{r['ratio_forecast_fit']:.4f} x fit {tag}"
        )
    info["loadavg_end"] = loadavg()
    info["total_seconds"] = time.perf_counter() - start
    info["warmup_seconds"] = warm_s
    print(
        f"summary: bsdl/plain {min(r['ratio_bsdl_plain'] for r in rows):.2f}-"
        f"{max(r['ratio_bsdl_plain'] for r in rows):.2f}; load average "
        f"{info['loadavg_start']} -> {info['loadavg_end']}; {info['total_seconds']:.0f} s"
    )
    if args.json:
        config = {
            "mode": "quick" if args.quick else "full",
            "n": args.n,
            "n_epochs": args.n_epochs,
            "cells": list(args.cells),
            "sunspots": args.sunspots,
            "repeats": args.repeats,
            "threads": args.threads,
            "seed": args.seed,
            "alpha": ALPHA,
        }
        with open(args.json, "w") as fh:
            json.dump(
                {"machine": info, "config": config, "statsmodels": sm, "runs": rows}, fh, indent=2
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
