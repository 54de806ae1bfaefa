"""Fit-time cost of the joint BIC lag search: this tree against a baseline checkout.

Issue 14, deliverable 7 (target: the default fit at most 3x the fit before the search).
The same fits, ``SparseRNN(lags=10, n_restarts=3, random_state=rep).fit(y)`` (what
``select_ar_order`` and vignette 02 run), on vignette 02's linear and nonlinear series
(``default_rng([d, rep, n])``), are timed in fresh subprocesses that import bsdl from this
tree and from ``--baseline`` (a checkout of an earlier commit, e.g. made by
``git worktree add /tmp/bsdl_old ee6c157``), interleaved so that both see the same load.
Printed: median seconds per fit of each tree and their ratio, per design.

Usage::

    python bench/lag_search_cost.py --baseline /tmp/bsdl_old        # n = 1000, 3 replicates
    python bench/lag_search_cost.py --quick --json out.json         # smoke run: this tree twice
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _machine import git_commit, loadavg, machine

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import time, warnings, numpy as np
from bsdl import SparseRNN
from bsdl.datasets import make_ar, make_nonlinear_ar
design, n, rep, epochs = {design!r}, {n}, {rep}, {epochs!r}
rng = np.random.default_rng([{d}, rep, n])
y = make_ar(n, random_state=rng) if design == "linear" else make_nonlinear_ar(n, random_state=rng)
kw = {{}} if epochs is None else {{"n_epochs": epochs}}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    m = SparseRNN(lags=10, n_restarts=3, random_state=rep, **kw).fit(y)
    print(time.perf_counter() - t0, " ".join(map(str, m.selected_lags_)))
"""

DESIGNS = {"linear": 0, "nonlinear": 1}


def fit_seconds(tree: Path, design: str, n: int, rep: int, epochs) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1")
    code = CHILD.format(design=design, n=n, rep=rep, epochs=epochs, d=DESIGNS[design])
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split(maxsplit=1)
    return float(out[0]), out[1].strip() if len(out) > 1 else ""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=None, help="earlier checkout")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.baseline is None and not args.quick:
        parser.error("--baseline is required outside --quick")
    baseline = args.baseline or ROOT
    n, reps, epochs = (200, 1, 5) if args.quick else (args.n, args.reps, None)
    designs = ["linear"] if args.quick else list(DESIGNS)
    trees = {"this": ROOT, "baseline": baseline}
    commits = {k: git_commit(v) for k, v in trees.items()}
    print(
        f"bench/lag_search_cost.py: this tree {commits['this']}, baseline "
        f"{commits['baseline']} ({baseline}); n = {n}, {reps} replicate(s), "
        f"load {loadavg()}"
    )
    rows = []
    for design in designs:
        for rep in range(reps):
            for label, tree in trees.items():  # interleaved: both trees see the same load
                sec, lags = fit_seconds(tree, design, n, rep, epochs)
                rows.append(dict(design=design, rep=rep, tree=label, seconds=sec, lags=lags))
                print(f"  {design:<9s} rep {rep} {label:<8s} {sec:6.1f} s  lags {{{lags}}}")
    summary = {}
    print("| design | this tree s (median) | baseline s (median) | ratio |")
    print("|---|---|---|---|")
    for design in designs:
        med = {
            label: statistics.median(
                r["seconds"] for r in rows if r["design"] == design and r["tree"] == label
            )
            for label in trees
        }
        ratio = med["this"] / med["baseline"]
        summary[design] = dict(this=med["this"], baseline=med["baseline"], ratio=ratio)
        print(f"| {design} | {med['this']:.1f} | {med['baseline']:.1f} | {ratio:.2f} |")
        print(f"ratio this/baseline ({design}): {ratio:.2f}")
    result = dict(machine=machine(), commits=commits, n=n, reps=reps, rows=rows, summary=summary)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
