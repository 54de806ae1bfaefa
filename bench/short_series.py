"""Short series: does SparseRNN keep the lags that a linear AR clearly needs?

Issue 14, deliverable 5: for n <= 250, no intercept-only fit where statsmodels' global BIC
search keeps a lag set that lowers BIC by more than 10 against the intercept-only model.
Each short classic is fitted with ``SparseRNN(random_state=seed)`` at its defaults
(``lags="auto"``) for several seeds; beside it, on the same candidate lags ``1..lags_``,
statsmodels' ``ar_select_order(..., ic="bic", glob=True)`` (all lag subsets, same sample),
and the BIC drop of its choice against the intercept-only model (both from statsmodels'
criteria table, so on one sample).

Usage::

    python bench/short_series.py             # 4 series x 5 seeds
    python bench/short_series.py --quick     # nile, one seed, few epochs (the test's run)
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

from _machine import git_commit

from bsdl import SparseRNN
from bsdl.baselines import ar_lag_search
from bsdl.datasets import load_series

SERIES = ["nile", "gdp_growth", "wwwusage", "bjsales"]


def run(name: str, seed: int, quick: bool) -> dict:
    y = load_series(name)
    kwargs = {"n_epochs": 30, "n_restarts": 1} if quick else {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SparseRNN(random_state=seed, **kwargs).fit(y)
    seconds = time.perf_counter() - t0
    search = ar_lag_search(y, model.lags_, glob=True)
    crit = search.criteria
    empty = float(crit.loc[crit["n_lags"] == 0, "bic"].iloc[0])
    best = float(crit["bic"].min())
    bsdl_lags = [int(v) for v in model.selected_lags_]
    drop = empty - best
    return dict(
        series=name,
        n=int(y.size),
        seed=seed,
        candidate_lags=int(model.lags_),
        bsdl_lags=bsdl_lags,
        global_bic_lags=[int(v) for v in search.bic_lags],
        bic_drop=drop,
        failure=bool(drop > 10 and not bsdl_lags),
        seconds=seconds,
    )


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    print(f"bench/short_series.py at commit {git_commit()}")
    names = ["nile"] if args.quick else SERIES
    seeds = range(1 if args.quick else args.seeds)
    print("| series | n | candidate lags | seed | bsdl lags | global BIC lags | BIC drop | fail |")
    print("|" + "---|" * 8)
    rows = []
    for name in names:
        for seed in seeds:
            r = run(name, seed, args.quick)
            rows.append(r)
            print(
                f"| {name} | {r['n']} | {r['candidate_lags']} | {seed} | "
                f"{{{', '.join(map(str, r['bsdl_lags']))}}} | "
                f"{{{', '.join(map(str, r['global_bic_lags']))}}} | {r['bic_drop']:.1f} | "
                f"{'yes' if r['failure'] else 'no'} |",
                flush=True,
            )
    fails = sum(r["failure"] for r in rows)
    same = sum(r["bsdl_lags"] == r["global_bic_lags"] for r in rows)
    print(f"intercept-only failures: {fails} of {len(rows)}; bsdl lags = global BIC lags: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(commit=git_commit(), rows=rows), indent=1))
    return rows


if __name__ == "__main__":
    main()
