#!/usr/bin/env python
"""One fit with asymptotic intervals against EnbPI's B refits of the same model.

For each series, in one process and on the same split (first 80 % for fitting, last
20 % for one-step-ahead intervals, each test value revealed after its interval):

- **bsdl**: one ``SparseRNN(lags=10, random_state=seed).fit`` on the first 80 %, then
  ``predict_interval(series=y, alpha)`` along the test span (delta method + noise);
- **EnbPI**: ``bsdl.conformal.EnbPI`` with ``n_bootstraps=B`` (default 20) refits of
  the same ``SparseRNN`` on block-bootstrap samples of the first 80 % (blocks of
  ``2 (lags + window)`` points), leave-one-out residuals, and the online residual
  window along the test span (``bsdl.compare.OneStepForecaster`` turns the RNN into
  a regressor on time positions).

It prints wall times, their ratio (EnbPI / bsdl), and the coverage, mean width and
interval score of both at 90 % (the target of the issue: >= 10x faster at equal or
better coverage). ``--quick`` (seconds) is the smoke mode the tests run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
import torch
from _machine import loadavg, machine

from bsdl import SparseRNN
from bsdl.compare import OneStepForecaster
from bsdl.conformal import EnbPI, interval_metrics
from bsdl.datasets import load_series, make_ar

ALPHA = 0.1


def run_case(label: str, y: np.ndarray, args) -> dict:
    rnn = dict(lags=10) | ({"n_epochs": 20} if args.quick else {})
    n = y.size
    n_fit = int(round(0.8 * n))
    test = np.arange(n_fit, n)
    model = SparseRNN(random_state=args.seed, **rnn)
    first = int(model.lags) + int(model.window) - 1

    t0 = time.perf_counter()
    fitted = model.fit(y[:n_fit])
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    pi = fitted.predict_interval(series=y, alpha=ALPHA)
    t_int = time.perf_counter() - t0
    offset = n - pi.mean.size
    lo, up = pi.lower[test - offset], pi.upper[test - offset]
    bsdl_m = interval_metrics(y[test], lo, up, ALPHA)

    t0 = time.perf_counter()
    enb = EnbPI(
        OneStepForecaster(SparseRNN(random_state=args.seed, **rnn), y),
        n_bootstraps=args.bootstraps,
        block_length=2 * (first + 1),
        random_state=args.seed,
    ).fit(np.arange(first, n_fit), y[first:n_fit])
    t_enb_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    ci = enb.predict_online(test, y[test], alpha=ALPHA)
    t_enb_int = time.perf_counter() - t0
    enb_m = interval_metrics(y[test], ci.lower, ci.upper, ALPHA)
    bsdl_s = t_fit + t_int
    enb_s = t_enb_fit + t_enb_int
    return dict(
        data=label,
        n=n,
        n_test=int(test.size),
        bootstraps=args.bootstraps,
        bsdl_fit_s=t_fit,
        bsdl_interval_s=t_int,
        bsdl_s=bsdl_s,
        enbpi_fit_s=t_enb_fit,
        enbpi_interval_s=t_enb_int,
        enbpi_s=enb_s,
        ratio=enb_s / bsdl_s,
        bsdl_coverage=bsdl_m["coverage"],
        enbpi_coverage=enb_m["coverage"],
        bsdl_width=bsdl_m["width"],
        enbpi_width=enb_m["width"],
        bsdl_interval_score=bsdl_m["interval_score"],
        enbpi_interval_score=enb_m["interval_score"],
    )


def table(rows: list[dict]) -> str:
    out = [
        "| data | n (test) | bsdl s | EnbPI s (B) | ratio | coverage bsdl / EnbPI | "
        "width bsdl / EnbPI | interval score bsdl / EnbPI |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['data']} | {r['n']} ({r['n_test']}) | {r['bsdl_s']:.1f} | "
            f"{r['enbpi_s']:.1f} ({r['bootstraps']}) | {r['ratio']:.1f} | "
            f"{r['bsdl_coverage']:.3f} / {r['enbpi_coverage']:.3f} | "
            f"{r['bsdl_width']:.3g} / {r['enbpi_width']:.3g} | "
            f"{r['bsdl_interval_score']:.3g} / {r['enbpi_interval_score']:.3g} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny fits, 3 refits (smoke test)")
    p.add_argument("--bootstraps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)
    if args.quick:
        args.bootstraps = 3
    torch.set_num_threads(args.threads)
    cases = [("make_ar(n=300)", make_ar(300, random_state=args.seed))]
    if not args.quick:
        cases = [
            ("make_ar(n=1000)", make_ar(1000, random_state=args.seed)),
            ("sunspots", load_series("sunspots").to_numpy()),
            ("elnino", load_series("elnino").to_numpy()),
        ]
    info = machine() | {"loadavg_before": loadavg()}
    print(f"machine: {info}")
    print(f"torch.get_num_threads()={torch.get_num_threads()}")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # one-time costs (lazy imports, torch.func) out of the timings
        warm = make_ar(80, random_state=1)
        SparseRNN(lags=3, window=4, n_epochs=2).fit(warm).predict_interval(series=warm)
        for label, y in cases:
            r = run_case(label, np.asarray(y, dtype=float), args)
            rows.append(r)
            print(
                f"ratio EnbPI(B={r['bootstraps']})/bsdl time on {label}: {r['ratio']:.1f} "
                f"(bsdl {r['bsdl_s']:.1f} s, EnbPI {r['enbpi_s']:.1f} s); coverage "
                f"{r['bsdl_coverage']:.3f} vs {r['enbpi_coverage']:.3f}",
                flush=True,
            )
    print()
    print(table(rows))
    info["loadavg_after"] = loadavg()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
