"""The sparse MLP's linear path: ``skip=True`` (the default) against ``skip=False``.

Issue 14, deliverables 6 and 7. The same data, seeds and test points for both settings of
``SparseMLPRegressor``, in one run:

* designs: ``make_sparse_regression(n, p)`` of Sun, Song & Liang (2022), true inputs 0..4,
  at p = 1000 with n = 500, 1000, 2000 (vignette 01's regime, where the network alone
  misses linear effects) and at p = 50 with n = 2000 (the JASA design of the tests);
* replicate r: training data ``default_rng([r, n, p, 0])``, 2000 test points
  ``default_rng([r, n, p, 1])``, ``random_state=r``;
* per fit: exact recovery of {0..4}, true and false inputs selected, inputs on the linear
  path, test MSE (noise floor 1), coverage of the 95 % prediction intervals (binomial band
  0.95 +- 2 sqrt(0.95 * 0.05 / 2000) = +- 0.0097) and fit seconds;
* summary per design: means over replicates and the fit-time ratio skip=True / skip=False
  (the cost of the linear-path search and the second refit; issue 14's target for a new
  search is at most 3).

Usage::

    python bench/mlp_linear_path.py                  # 5 replicates per design
    python bench/mlp_linear_path.py --quick --json out.json    # smoke run (the test's)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from _machine import loadavg, machine

from bsdl import SparseMLPRegressor
from bsdl.datasets import make_sparse_regression

TRUE = set(range(5))
DESIGNS = [(1000, 500), (1000, 1000), (1000, 2000), (50, 2000)]  # (p, n)


def one_fit(p: int, n: int, rep: int, skip: bool, n_test: int, epochs) -> dict:
    X, y = make_sparse_regression(n, p, random_state=np.random.default_rng([rep, n, p, 0]))
    Xt, yt = make_sparse_regression(n_test, p, random_state=np.random.default_rng([rep, n, p, 1]))
    kw = {} if epochs is None else {"n_epochs": epochs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        m = SparseMLPRegressor(skip=skip, random_state=rep, **kw).fit(X, y)
        seconds = time.perf_counter() - t0
        pi = m.predict_interval(Xt, alpha=0.05)
    sel = {int(j) for j in m.selected_features_}
    linear = sorted(int(j) for j in np.flatnonzero(m.mask_["skip.weight"].any(0))) if skip else []
    return {
        "p": p,
        "n": n,
        "rep": rep,
        "skip": skip,
        "selected": sorted(sel),
        "linear": linear,
        "exact": sel == TRUE,
        "true": len(sel & TRUE),
        "false": len(sel - TRUE),
        "mse": float(np.mean((m.predict(Xt) - yt) ** 2)),
        "coverage": float(np.mean((yt >= pi.lower) & (yt <= pi.upper))),
        "seconds": seconds,
        "nonzero": int(m.n_nonzero_),
    }


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for p, n in sorted({(r["p"], r["n"]) for r in rows}, key=lambda t: (-t[0], t[1])):
        cell = {}
        for skip in (False, True):
            rs = [r for r in rows if r["p"] == p and r["n"] == n and r["skip"] == skip]
            cell[skip] = {
                "exact": statistics.mean(r["exact"] for r in rs),
                "true": statistics.mean(r["true"] for r in rs),
                "false": statistics.mean(r["false"] for r in rs),
                "mse": statistics.mean(r["mse"] for r in rs),
                "coverage": statistics.mean(r["coverage"] for r in rs),
                "seconds": statistics.median(r["seconds"] for r in rs),
                "reps": len(rs),
            }
        ratio = cell[True]["seconds"] / cell[False]["seconds"]
        out.append(
            {"p": p, "n": n, "skip_false": cell[False], "skip_true": cell[True], "ratio": ratio}
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    designs, reps, n_test, epochs = (
        ([(30, 300)], 1, 200, 20) if args.quick else (DESIGNS, args.reps, 2000, None)
    )
    info = machine()
    print(
        f"bench/mlp_linear_path.py: commit {info['commit']}, {reps} replicate(s), load {loadavg()}"
    )
    rows = []
    for p, n in designs:
        for rep in range(reps):
            for skip in (False, True):  # interleaved: both settings see the same load
                row = one_fit(p, n, rep, skip, n_test, epochs)
                rows.append(row)
                print(
                    f"p={p} n={n} rep={rep} skip={skip}: selected {row['selected'][:10]} "
                    f"linear {row['linear'][:10]} mse {row['mse']:.3f} "
                    f"coverage {row['coverage']:.3f} {row['seconds']:.1f}s",
                    flush=True,
                )
    summary = summarise(rows)
    print()
    print(
        "| p | n | skip | exact recovery | true inputs | false inputs | test MSE "
        "| 95% coverage | median fit s | time ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in summary:
        for skip, key in ((False, "skip_false"), (True, "skip_true")):
            c = s[key]
            ratio = f"{s['ratio']:.2f}" if skip else ""
            print(
                f"| {s['p']} | {s['n']} | {skip} | {c['exact']:.2f} ({c['reps']}) | "
                f"{c['true']:.1f} | {c['false']:.1f} | {c['mse']:.3f} | {c['coverage']:.3f} | "
                f"{c['seconds']:.1f} | {ratio} |"
            )
    print(f"\nload at the end {loadavg()}")
    result = {"machine": info, "rows": rows, "summary": summary}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
