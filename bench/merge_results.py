"""Merge the ``results.csv`` of one study run in parallel processes into one file.

A long study (``transformer_pruning.py``, ``ptb_lstm.py``) is run as several processes, each
with its own ``--out`` (and ``--first-seed`` or a subset of ``--methods``). This script reads
their ``results.csv`` files, renames the ``study`` column to one name, keeps the first row of
each ``(method, sparsity, seed, metric)`` (a later duplicate with another value is an error
unless ``--keep-first``), writes the merged ``results.csv`` and prints the tables that the
studies' reports show.

Example::

    python bench/merge_results.py --study transformer_pruning \\
        --out bench/results/compression/transformer_pruning \\
        bench/results/compression/transformer_pruning/results.csv \\
        run_a/results.csv run_b/results.csv
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from _studies import PRUNERS, Results, metric_table


def merge(study: str, paths: list[Path], keep_first: bool = False) -> Results:
    """One :class:`Results` of ``study`` with the rows of all ``paths`` (first row wins)."""
    merged = Results(study)
    seen: dict[tuple, float] = {}
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"{path}: no such file")
        if path.name != "results.csv":
            raise SystemExit(f"{path}: expected a study's results.csv (each --out has one)")
        for r in Results.resume(study, path.parent).rows:
            key = (r["method"], round(r["sparsity"], 6), r["seed"], r["metric"])
            if key in seen:
                same = math.isclose(seen[key], r["value"], rel_tol=1e-9, abs_tol=1e-12)
                if not (same or keep_first):
                    raise SystemExit(
                        f"{path}: {key} = {r['value']} differs from an earlier file's "
                        f"{seen[key]} (pass --keep-first to keep the earlier row)"
                    )
                continue
            seen[key] = r["value"]
            merged.rows.append({**r, "study": study})
    return merged


def tables(results: Results) -> str:
    methods, levels = results.methods_and_levels(list(PRUNERS))
    out = []
    for metric, kw in (
        ("accuracy", {"scale": 100}),
        ("perplexity", {}),
        ("nll", {"digits": 3}),
        ("measured_sparsity", {"scale": 100}),
        ("train_seconds", {"digits": 0}),
    ):
        if any(r["metric"] == metric for r in results.rows):
            out += [f"## {metric}", "", metric_table(results, metric, methods, levels, **kw), ""]
    return "\n".join(out)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path, help="results.csv files, earliest first")
    p.add_argument("--study", required=True, help="the study name of the merged rows")
    p.add_argument("--out", type=Path, help="write OUT/results.csv (default: only print)")
    p.add_argument("--keep-first", action="store_true", help="on a conflict keep the first row")
    args = p.parse_args(argv)
    results = merge(args.study, args.files, args.keep_first)
    print(tables(results))
    if args.out is not None:
        print(f"results: {results.write(args.out)}")


if __name__ == "__main__":
    sys.exit(main())
