"""Seasonal series: SparseRNN's default candidate lags against AutoReg at its BIC lags.

Issue 14, deliverable 4. On each seasonal series (bundled or from statsmodels) the first
75 % trains both models and the last 25 % is scored with one-step 90 % prediction intervals
computed from each point's own past (no refit):

* bsdl: ``SparseRNN(random_state=seed)`` with its defaults, so ``lags="auto"`` takes the
  seasonal lags from the index frequency (:func:`bsdl._series.default_lags`);
* hybrid: bsdl's intervals from the same fit at levels walked online by ACI's update and
  aggregated (:class:`bsdl.conformal.AdaptiveAsymptotic` with its default step sizes), no
  calibration set;
* AutoReg: statsmodels at the BIC lags over ``1..lags_`` of the fitted network: the global
  subset search (``ar_select_order(..., glob=True)``) up to 13 candidate lags (a monthly
  series' 1..13); for more (weekly, half-hourly), statsmodels' contiguous BIC order, since
  ``2**lags`` subsets are out of reach.

Printed per series: the lags each model uses, coverage with its binomial standard error
``sqrt(p (1 - p) / m)`` over the m test points, mean width, the width ratio bsdl / AutoReg
(target <= 1.1) and one-step RMSE, plus the fit time. Results go to
``bench/results/seasonal_<date>.json`` with the commit.

Usage::

    python bench/seasonal.py            # all series, seed 0
    python bench/seasonal.py --quick    # nottem only, few epochs (the test's smoke run)
    python bench/seasonal.py --noise heteroscedastic   # SparseRNN(noise="heteroscedastic"),
                                                       # and an AR-GARCH(1, 1) row
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from _machine import git_commit

from bsdl import SparseRNN
from bsdl.baselines import ar_lag_search, autoreg_forecasts, baseline_bic_lags
from bsdl.conformal import AdaptiveAsymptotic
from bsdl.datasets import load_series

ALPHA = 0.1
TRAIN = 0.75
#: name -> (loader name, how many of the last points to keep; None: all)
SERIES = {
    "nottem": ("nottem", None),
    "elnino": ("elnino", None),
    "co2": ("co2", None),
    "seattle_temperature": ("seattle_temperature", None),
    "gb_demand (last 2000)": ("gb_demand", 2000),
}


def _load(key: str) -> pd.Series:
    return load_series(key)


def _baseline_lags(train: pd.Series, max_lag: int):
    """statsmodels' global subset search up to 13 candidate lags (8192 subsets: a monthly
    series' 1..13), else :func:`baseline_bic_lags` (its contiguous order)."""
    if max_lag <= 13:
        return ar_lag_search(train, max_lag, glob=True)
    return baseline_bic_lags(train, max_lag)


def _scores(frame: pd.DataFrame, y: np.ndarray) -> dict:
    lower, upper, mean = (frame[c].to_numpy() for c in ("lower", "upper", "mean"))
    inside = (y >= lower) & (y <= upper)
    m = inside.size
    p = float(inside.mean())
    return dict(
        coverage=p,
        coverage_se=float(np.sqrt(p * (1 - p) / m)),
        width=float(np.mean(upper - lower)),
        rmse=float(np.sqrt(np.mean((mean - y) ** 2))),
    )


class _TestRows:
    """A fitted forecaster's one-step intervals on the test span as a prefit regressor on
    test positions ``0..m-1`` (what :class:`AdaptiveAsymptotic` reads: mean, se, df)."""

    def __init__(self, pi, m: int) -> None:
        self.mean = np.asarray(pi.mean, dtype=float)[-m:]
        self.se = np.asarray(pi.se, dtype=float)[-m:]
        self.df = pi.df

    def fit(self, X, y):  # the conformal wrappers' protocol; prefit, so never called
        raise NotImplementedError

    def predict(self, X):
        return self.mean[np.asarray(X, dtype=np.int64).reshape(-1)]

    def predict_interval(self, X):
        i = np.asarray(X, dtype=np.int64).reshape(-1)
        return SimpleNamespace(mean=self.mean[i], se=self.se[i], df=self.df)


def run_series(
    label: str, key: str, last: int | None, seed: int, quick: bool, noise: str = "constant"
) -> dict:
    y = _load(key)
    if last is not None:
        y = y.iloc[-last:]
    n_train = int(round(TRAIN * y.size))
    train, test = y.iloc[:n_train], y.iloc[n_train:]
    kwargs = {"n_epochs": 30} if quick else {}
    if noise != "constant":
        kwargs["noise"] = noise
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SparseRNN(random_state=seed, **kwargs).fit(train)
    fit_seconds = time.perf_counter() - t0
    pi = model.predict_interval(series=y, alpha=ALPHA)
    one = pi.to_frame().iloc[-test.size :]
    values = test.to_numpy()
    bsdl = _scores(one, values)
    # the hybrid: the same intervals at aggregated ACI levels, walked along the test span
    rows = _TestRows(pi, test.size)
    walk = AdaptiveAsymptotic(rows).predict_online(np.arange(test.size), values, ALPHA)
    hybrid = _scores(walk.to_frame(), values)

    search = _baseline_lags(train, model.lags_)
    fc = autoreg_forecasts(train, search.bic_lags, series=y, alpha=ALPHA)
    ar = _scores(fc.one_step.to_frame().iloc[-test.size :], values)
    garch = None
    if noise == "heteroscedastic":  # the volatility baseline at the same lags
        from bsdl.garch import garch_forecasts

        g = garch_forecasts(y.to_numpy(), search.bic_lags, n_fit=n_train).intervals(ALPHA)
        garch = _scores(g.to_frame(), values)
    return dict(
        noise=noise,
        garch=garch,
        series=label,
        n=int(y.size),
        n_test=int(test.size),
        freq=str(getattr(y.index, "freqstr", None)),
        candidate_lags=int(model.lags_),
        bsdl_lags=[int(v) for v in model.selected_lags_],
        network_weights=int(getattr(model, "n_network_weights_", -1)),
        ar_lags=[int(v) for v in search.bic_lags],
        ar_search=search.search,
        bsdl=bsdl,
        hybrid=hybrid,
        autoreg=ar,
        width_ratio=bsdl["width"] / ar["width"],
        hybrid_width_ratio=hybrid["width"] / ar["width"],
        fit_seconds=fit_seconds,
    )


def _lags(lags: list[int]) -> str:
    if len(lags) > 8:
        return (
            "{" + ", ".join(map(str, lags[:4])) + ", ..., " + ", ".join(map(str, lags[-2:])) + "}"
        )
    return "{" + ", ".join(map(str, lags)) + "}"


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--series", nargs="*", default=None, help="labels to run (default all)")
    parser.add_argument("--json", default=None, help="results JSON (default bench/results/)")
    parser.add_argument(
        "--noise",
        default="constant",
        choices=["constant", "heteroscedastic"],
        help="SparseRNN's noise; heteroscedastic adds an AR-GARCH(1, 1) row at the AR lags",
    )
    args = parser.parse_args(argv)
    chosen = ["nottem"] if args.quick and not args.series else (args.series or list(SERIES))
    commit = git_commit()
    print(
        f"bench/seasonal.py at commit {commit}; noise={args.noise}; 90 % one-step intervals, "
        f"train {TRAIN:.0%}"
    )
    header = (
        "| series | n (test) | candidate lags | bsdl lags | AutoReg BIC lags | "
        "bsdl coverage | AutoReg coverage | width ratio | RMSE bsdl / AR | fit s |"
    )
    print(header)
    print("|" + "---|" * 10)
    rows = []
    for label in chosen:
        key, last = SERIES[label]
        r = run_series(label, key, last, args.seed, args.quick, args.noise)
        rows.append(r)
        b, a = r["bsdl"], r["autoreg"]
        print(
            f"| {label} | {r['n']} ({r['n_test']}) | {r['candidate_lags']} | "
            f"{_lags(r['bsdl_lags'])} | {_lags(r['ar_lags'])} ({r['ar_search']}) | "
            f"{b['coverage']:.3f} ± {b['coverage_se']:.3f} | "
            f"{a['coverage']:.3f} ± {a['coverage_se']:.3f} | {r['width_ratio']:.2f} | "
            f"{b['rmse']:.3f} / {a['rmse']:.3f} | {r['fit_seconds']:.0f} |",
            flush=True,
        )
        h = r["hybrid"]
        print(
            f"|   hybrid (bsdl's interval at aggregated ACI levels) | | | | | "
            f"{h['coverage']:.3f} ± {h['coverage_se']:.3f} | | {r['hybrid_width_ratio']:.2f} | | |",
            flush=True,
        )
        if r["garch"] is not None:
            g = r["garch"]
            print(
                f"|   AR-GARCH(1, 1)-t at the AutoReg lags | | | | | | "
                f"{g['coverage']:.3f} ± {g['coverage_se']:.3f} | "
                f"{b['width'] / g['width']:.2f} (bsdl / GARCH) | {g['rmse']:.3f} | |",
                flush=True,
            )
    if not args.quick or args.json:
        out = (
            Path(args.json)
            if args.json
            else (
                Path(__file__).parent / "results" / f"seasonal_{dt.date.today().isoformat()}.json"
            )
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps(dict(commit=commit, alpha=ALPHA, noise=args.noise, rows=rows), indent=1)
        )
        print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
