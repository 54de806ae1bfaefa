#!/usr/bin/env python
"""How the fit time of the estimators grows with n, at their defaults.

For each n it times ``SparseMLPRegressor(random_state=seed).fit(X, y)`` on
``make_sparse_regression(n, p)`` and ``SparseRNN(random_state=seed).fit(y)`` on
``make_ar(n)`` (AR lags 1, 3, 7), every other argument at its default (``n_epochs``,
``batch_size`` and ``refit_epochs`` "auto": batches grow with n so that the number of
optimiser steps stays near 6000 until the 30-epoch floor is reached). Each fit is the
whole pipeline: annealing, pruning, refit, Fisher information, criteria, covariance.

It prints one markdown table (median seconds over ``--repeats``, epochs, batch, optimiser
steps, ms per step) and, per estimator, the least-squares slope of log(seconds) on log(n):
1 is linear growth, 0 a cost that does not depend on n. A tiny fit of each estimator first
takes one-time costs (lazy imports, ``torch.func``) out of the timings.

Run ``python bench/scale.py`` (full, several minutes on 2 cores) or ``--quick`` (seconds).
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

from bsdl import SparseMLPRegressor, SparseRNN
from bsdl.datasets import make_ar, make_sparse_regression

FULL = {"mlp": (1000, 10_000, 100_000), "rnn": (1000, 5000, 20_000, 50_000)}
QUICK = {"mlp": (200, 400), "rnn": (300, 600)}
LABELS = {"mlp": "SparseMLPRegressor", "rnn": "SparseRNN"}


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny n and 10 epochs (smoke run)")
    ap.add_argument("--repeats", type=int, default=1, help="timed fits per n (median reported)")
    ap.add_argument("--mlp-n", type=_sizes, default=None, help="comma-separated n for the MLP")
    ap.add_argument("--rnn-n", type=_sizes, default=None, help="comma-separated n for the RNN")
    ap.add_argument("--p", type=int, default=None, help="features of the MLP data (default 50)")
    ap.add_argument("--n-epochs", default=None, help='passed to both estimators (default "auto")')
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-mlp", action="store_true")
    ap.add_argument("--skip-rnn", action="store_true")
    ap.add_argument("--json", default=None, help="write every result here")
    args = ap.parse_args(argv)
    mode = QUICK if args.quick else FULL
    args.mlp_n = args.mlp_n or mode["mlp"]
    args.rnn_n = args.rnn_n or mode["rnn"]
    args.p = args.p or (10 if args.quick else 50)
    if args.n_epochs is None:
        args.n_epochs = 10 if args.quick else "auto"
    elif args.n_epochs != "auto":
        args.n_epochs = int(args.n_epochs)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    return args


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def make_case(kind: str, n: int, args):
    """(estimator, fit arguments, data label) for one size."""
    if kind == "mlp":
        X, y = make_sparse_regression(n, args.p, random_state=args.seed)
        est = SparseMLPRegressor(n_epochs=args.n_epochs, random_state=args.seed)
        return est, (X, y), f"make_sparse_regression(n, p={args.p})"
    y = make_ar(n, random_state=args.seed)
    est = SparseRNN(n_epochs=args.n_epochs, random_state=args.seed)
    return est, (y,), "make_ar(n), lags {1, 3, 7}"


def training_rows(kind: str, model) -> int:
    """Rows (samples or windows) one epoch goes through."""
    if kind == "mlp":
        return int(model.n_obs_)
    return int(model.n_scored_) // (int(model.window) - int(model.burn_in_))


def fit_once(est, data) -> tuple[object, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sparsity / singular-Fisher notes of small fits
        t0 = time.perf_counter()
        est.fit(*data)
        return est, time.perf_counter() - t0


def warm_up(args) -> float:
    t0 = time.perf_counter()
    X, y = make_sparse_regression(100, 5, random_state=args.seed)
    fit_once(SparseMLPRegressor((4,), n_epochs=5, random_state=0), (X, y))
    fit_once(SparseRNN(lags=3, window=4, n_epochs=5, random_state=0), (make_ar(200),))
    return time.perf_counter() - t0


def run_kind(kind: str, sizes, args) -> list[dict]:
    rows = []
    for n in sizes:
        seconds = []
        for _ in range(args.repeats):
            est, data, label = make_case(kind, n, args)
            model, s = fit_once(est, data)
            seconds.append(s)
        n_rows = training_rows(kind, model)
        epochs = len(model.history_)
        steps = epochs * math.ceil(n_rows / int(model.batch_size_))
        med = statistics.median(seconds)
        row = {
            "model": LABELS[kind],
            "data": label,
            "n": n,
            "rows": n_rows,
            "epochs": epochs,
            "refit_epochs": int((model.history_["phase"] == "refit").sum()),
            "batch_size": int(model.batch_size_),
            "steps": steps,
            "seconds": seconds,
            "median_seconds": med,
            "ms_per_step": 1e3 * med / steps,
            "n_nonzero": int(model.n_nonzero_),
        }
        if kind == "rnn":
            row["selected_lags"] = [int(v) for v in model.selected_lags_]
        rows.append(row)
        print(f"  {LABELS[kind]} n={n}: {med:.2f} s", file=sys.stderr, flush=True)
    return rows


def loglog_slope(rows: list[dict]) -> float:
    """Least-squares slope of log(median seconds) on log(n)."""
    if len(rows) < 2:
        return float("nan")
    x = np.log([r["n"] for r in rows])
    t = np.log([r["median_seconds"] for r in rows])
    return float(np.polyfit(x, t, 1)[0])


def table(rows: list[dict], repeats: int) -> str:
    head = (
        f"| model | data | n | rows | epochs (train + refit) | batch | steps | "
        f"fit s (median of {repeats}) | ms/step | non-zero weights |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        epochs = f"{r['epochs'] - r['refit_epochs']} + {r['refit_epochs']}"
        lines.append(
            f"| {r['model']} | {r['data']} | {r['n']} | {r['rows']} | {epochs} | "
            f"{r['batch_size']} | {r['steps']} | {r['median_seconds']:.2f} | "
            f"{r['ms_per_step']:.2f} | {r['n_nonzero']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load_start = loadavg()
    mode = "quick" if args.quick else "full"
    info = machine()
    print(
        f"# bsdl fit time against n ({mode}); torch {info['torch']}; "
        f"torch.get_num_threads()={torch.get_num_threads()}; cpu_count={info['cpu_count']}; "
        f"{info['processor']}; load average {load_start}"
    )
    warm = warm_up(args)
    result = {"machine": info, "args": {k: v for k, v in vars(args).items()}, "runs": {}}
    kinds = [k for k in ("mlp", "rnn") if not getattr(args, f"skip_{k}")]
    rows = []
    for kind in kinds:
        kind_rows = run_kind(kind, args.mlp_n if kind == "mlp" else args.rnn_n, args)
        result["runs"][kind] = kind_rows
        rows += kind_rows
    print()
    print(table(rows, args.repeats))
    print()
    print(f"One-time cost of the first fits in this process (warm-up, not included): {warm:.2f} s")
    slopes = {}
    for kind in kinds:
        kind_rows = result["runs"][kind]
        slopes[kind] = loglog_slope(kind_rows)
        ns = ", ".join(str(r["n"]) for r in kind_rows)
        print(f"slope {LABELS[kind]}: {slopes[kind]:.3f} (log seconds on log n, n = {ns})")
    result["slopes"] = {LABELS[k]: v for k, v in slopes.items()}
    load_end = loadavg()
    result["loadavg"] = [load_start, load_end]
    summary = "; ".join(f"{LABELS[k]} slope {v:.3f}" for k, v in slopes.items())
    print(f"summary: {summary}; load average {load_start} -> {load_end}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
