"""Command line (layer L5): ``bsdl compare`` and ``bsdl series``.

``bsdl compare`` runs :func:`bsdl.compare.compare_intervals` on the bundled real series
(or, by name, the daily returns of :data:`bsdl.datasets.RETURN_SERIES`) and prints the
table of coverage, width, interval score and seconds per method; ``--out DIR`` also writes
``comparison.csv``, ``comparison.md`` and one figure per series. ``--noise
heteroscedastic`` fits the forecaster with a conditional variance, ``--innovations`` chooses
the innovations' distribution (``auto``, ``normal``, ``t``).
"""

from __future__ import annotations

import argparse
import sys
import warnings

__all__ = ["main"]

QUICK_RNN = {"n_epochs": 60}


def _parser() -> argparse.ArgumentParser:
    from bsdl.compare import METHODS
    from bsdl.datasets import REAL_SERIES, RETURN_SERIES
    from bsdl.models._noise import INNOVATION_OPTIONS, NOISE

    p = argparse.ArgumentParser(prog="bsdl", description="Bayesian sparse deep learning")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser(
        "compare",
        help="asymptotic vs conformal and AutoReg intervals on real series",
        description="Compare bsdl's asymptotic one-step intervals with conformal baselines "
        "(same SparseRNN, same train/calibration/test split) and statsmodels' AutoReg at the "
        "BIC lags (method autoreg) on bundled real series.",
    )
    c.add_argument(
        "--series",
        nargs="+",
        default=list(REAL_SERIES),
        choices=[*REAL_SERIES, *RETURN_SERIES],
        metavar="NAME",
        help=f"series to use (default: all of {', '.join(REAL_SERIES)}; the daily returns "
        f"{', '.join(RETURN_SERIES)} need the optional package arch)",
    )
    c.add_argument(
        "--methods",
        nargs="+",
        default=None,
        choices=list(METHODS),
        metavar="M",
        help="methods to compare (default: all, garch only when arch is installed)",
    )
    c.add_argument(
        "--noise",
        default="constant",
        choices=list(NOISE),
        help="the forecaster's innovation variance (default constant)",
    )
    c.add_argument(
        "--innovations",
        default="auto",
        choices=list(INNOVATION_OPTIONS),
        help="the standardised innovations' distribution (default auto: Student-t with "
        "--noise heteroscedastic, normal with constant noise)",
    )
    c.add_argument("--alpha", nargs="+", type=float, default=[0.1, 0.05])
    c.add_argument("--seeds", type=int, default=1, help="seeds per series (default 1)")
    c.add_argument("--bootstraps", type=int, default=20, help="EnbPI refits (default 20)")
    c.add_argument("--max-length", type=int, default=2000, help="last points kept per series")
    c.add_argument("--n-jobs", type=int, default=1)
    c.add_argument("--random-state", type=int, default=0)
    c.add_argument(
        "--quick",
        action="store_true",
        help=f"SparseRNN with {QUICK_RNN} and 5 EnbPI refits (a smoke test, not a study)",
    )
    c.add_argument("--out", default=None, help="write comparison.csv/.md and figures here")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("series", help="list the bundled real series")
    return p


def _compare(args) -> int:
    from bsdl.compare import compare_intervals, comparison_table, write_report

    rnn = dict(QUICK_RNN) if args.quick else {}
    if args.noise != "constant":
        rnn["noise"] = args.noise
    if args.innovations != "auto":
        rnn["innovations"] = args.innovations
    boot = 5 if args.quick else args.bootstraps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame, intervals = compare_intervals(
            args.series,
            methods=args.methods,
            alpha=args.alpha,
            n_seeds=args.seeds,
            max_length=args.max_length,
            model_params=rnn,
            n_bootstraps=boot,
            n_jobs=args.n_jobs,
            random_state=args.random_state,
            return_intervals=True,
            verbose=not args.quiet,
        )
    table = comparison_table(frame)
    table["level"] = [f"{1 - a:.0%}" for a in table.alpha]
    cols = ["series", "level", "method", "coverage", "width", "width_ratio"]
    cols += ["interval_score", "seconds"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out:
        path = write_report(frame, intervals, args.out)
        print(f"wrote {path} and figures to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bsdl`` command.

    Examples
    --------
    >>> import contextlib, io
    >>> from bsdl.cli import main
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     code = main(["series"])
    >>> code, "half-hourly" in out.getvalue()
    (0, True)
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "series":
            from bsdl.datasets import list_series

            print(list_series().drop(columns="description").to_string())
            return 0
        return _compare(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"bsdl {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
