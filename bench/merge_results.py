"""Merge the ``results.csv`` of one study run in parallel processes into one file.

A long study (``transformer_pruning.py``, ``ptb_lstm.py``) is run as several processes, each
with its own ``--out`` (and ``--first-seed`` or a subset of ``--methods``). This script reads
their ``results.csv`` files, renames the ``study`` column to one name, keeps the first row of
each ``(method, sparsity, seed, metric)`` (a later duplicate with another value is an error
unless ``--keep-first``), writes the merged ``results.csv`` and prints the tables that the
studies' reports show. With ``--report-head`` it also writes ``report.md``: that file's text
(title, the ``- `` provenance lines that vignette 06 reads, the setup), then a per-seed table
at every level that some method ran with several seeds, the paired differences against MGPP
there, and the tables.

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

from _studies import LABELS, PRUNERS, Results, fmt_mean_sd, mean_sd, metric_table


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


def primary_metric(results: Results) -> tuple[str, dict]:
    """The study's headline metric (accuracy or perplexity) and its table format."""
    if any(r["metric"] == "accuracy" for r in results.rows):
        return "accuracy", {"scale": 100, "digits": 1}
    return "perplexity", {"scale": 1, "digits": 1}


def seed_tables(results: Results) -> str:
    """Per-seed values at each level where a method ran more than one seed, with the
    differences to MGPP paired by seed (a seed fixes the initialisation and batch order of
    every method, so the paired se is sd / sqrt(number of shared seeds))."""
    metric, fmt = primary_metric(results)
    scale, digits = fmt["scale"], fmt["digits"]
    by = {}
    for r in results.rows:
        if r["metric"] == metric:
            by.setdefault((r["method"], round(r["sparsity"], 6)), {})[r["seed"]] = r["value"]
    methods, levels = results.methods_and_levels(list(PRUNERS))
    out = []
    for level in levels:
        here = {m: by[(m, level)] for m in methods if (m, level) in by}
        if max((len(v) for v in here.values()), default=0) < 2:
            continue
        if ("dense", 0.0) in by:
            here = {"dense": by[("dense", 0.0)], **here}
        seeds = sorted({s for v in here.values() for s in v})
        out += [
            f"## {metric} per seed at {100 * level:.0f} %",
            "",
            "| method | " + " | ".join(f"seed {s}" for s in seeds) + " | mean ± sd |",
            "|---" * (len(seeds) + 2) + "|",
        ]
        for m, v in here.items():
            cells = [f"{scale * v[s]:.{digits}f}" if s in v else "-" for s in seeds]
            m_sd = fmt_mean_sd(list(v.values()), digits, scale)
            label = "dense (0 %)" if m == "dense" else LABELS.get(m, m)
            out.append(f"| {label} | " + " | ".join(cells) + f" | {m_sd} |")
        out.append("")
        for m in (m for m in here if m not in ("mgpp", "dense") and "mgpp" in here):
            shared = sorted(set(here["mgpp"]) & set(here[m]))
            if len(shared) < 2:
                continue
            d = [scale * (here["mgpp"][s] - here[m][s]) for s in shared]
            mean, sd = mean_sd(d)
            out.append(
                f"- MGPP minus {LABELS.get(m, m)}, paired by seed: "
                f"{', '.join(f'{x:+.{digits}f}' for x in d)}; mean {mean:+.2f}, "
                f"se {sd / math.sqrt(len(d)):.2f} (n = {len(d)})"
            )
        out.append("")
    return "\n".join(out)


def write_merged_report(results: Results, head: Path, out: Path) -> Path:
    """``out/report.md``: the text of ``head``, the per-seed tables and :func:`tables`."""
    text = head.read_text().rstrip() + "\n\n" + seed_tables(results) + "\n" + tables(results)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "report.md"
    path.write_text(text.rstrip() + "\n")
    return path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path, help="results.csv files, earliest first")
    p.add_argument("--study", required=True, help="the study name of the merged rows")
    p.add_argument("--out", type=Path, help="write OUT/results.csv (default: only print)")
    p.add_argument("--keep-first", action="store_true", help="on a conflict keep the first row")
    p.add_argument(
        "--report-head",
        type=Path,
        help="also write OUT/report.md: this file's text (title, '- ' provenance lines, "
        "setup), then per-seed tables and the tables",
    )
    args = p.parse_args(argv)
    if args.report_head is not None and args.out is None:
        p.error("--report-head needs --out")
    if args.report_head is not None and not args.report_head.is_file():
        p.error(f"--report-head: no such file {args.report_head}")
    results = merge(args.study, args.files, args.keep_first)
    print(tables(results))
    if args.out is not None:
        print(f"results: {results.write(args.out)}")
        if args.report_head is not None:
            print(f"report: {write_merged_report(results, args.report_head, args.out)}")


if __name__ == "__main__":
    sys.exit(main())
