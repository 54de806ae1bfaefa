"""The methods of :func:`bsdl.compare.compare_intervals`, run on one series and seed (L5).

:func:`run_one` cuts the series, fits the shared forecaster (through
:class:`~bsdl.onestep.OneStepForecaster`) and the baselines, walks the test span with
every requested method and returns the rows of the comparison table and the intervals.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from bsdl._series import TimeIndex, default_lags
from bsdl.baselines import autoreg_forecasts, baseline_bic_lags
from bsdl.conformal import (
    ACI,
    SPCI,
    AdaptiveAsymptotic,
    AgACI,
    ConformalizedAsymptotic,
    EnbPI,
    SplitConformal,
    min_calibration_size,
)
from bsdl.garch import garch_forecasts
from bsdl.onestep import OneStepForecaster
from bsdl.results import Intervals, PredictionIntervals

__all__ = ["GARCH_MIN_FIT", "MIN_BLOCKS", "run_one"]

#: The GARCH baseline is skipped (NaN row, with a note) on a fitting span shorter than this
#: plus its largest lag.
GARCH_MIN_FIT = 100


def _split_sizes(n: int, train: float, calibration: float, first: int) -> tuple[int, int]:
    n_train = int(round(train * n))
    n_cal = int(round(calibration * n))
    if n_train - first < 20 or n_cal < 20 or n - n_train - n_cal < 20:
        raise ValueError(
            f"a series of {n} points gives train/calibration/test spans of {n_train}/"
            f"{n_cal}/{n - n_train - n_cal}; each needs at least 20 points (the training "
            f"span {first} more for the first window): use a longer series or other fractions"
        )
    return n_train, n_cal


def _freq(index: pd.Index) -> str | None:
    """The regular frequency of a series' index, None for plain positions or none found."""
    try:
        return TimeIndex.from_index(index, "series").freq
    except (ValueError, TypeError):
        return None


#: EnbPI is skipped (NaN row, with a note) when its block bootstrap would have fewer blocks.
MIN_BLOCKS = 8

_WRAPPERS = ("conformalized", "split", "aci", "agaci", "spci")


def run_one(
    name: str,
    y: np.ndarray,
    index: pd.Index,
    seed: int,
    alphas: list[float],
    methods: list[str],
    train: float,
    calibration: float,
    model: type,
    params: dict,
    n_bootstraps: int,
) -> tuple[list[dict], dict]:
    if params.get("lags") == "auto":
        params = params | {"lags": default_lags(int(round(train * y.size)), _freq(index))}
    base = model(random_state=seed, **params)
    first = int(base.lags) + int(base.window) - 1
    n = y.size
    n_train, n_cal = _split_sizes(n, train, calibration, first)
    wrappers = [m for m in methods if m in _WRAPPERS]
    if wrappers and n_cal < min_calibration_size(min(alphas)):
        raise ValueError(
            f"series {name!r}: its calibration span has {n_cal} points, fewer than the "
            f"{min_calibration_size(min(alphas))} that alpha={min(alphas):g} needs"
        )
    pos = np.arange(n)
    cal = pos[n_train : n_train + n_cal]
    test = pos[n_train + n_cal :]
    n_full = n_train + n_cal
    rows, intervals = [], {}

    def record(method, alpha, iv: Intervals | None, seconds, n_fit, n_calibration, note=""):
        if iv is None:
            m = dict(coverage=np.nan, width=np.nan, interval_score=np.nan)
        else:
            m = dict(
                coverage=iv.coverage(y[test]),
                width=float(np.mean(iv.width)),
                interval_score=iv.interval_score(y[test]),
            )
            intervals[(name, seed, alpha, method)] = pd.DataFrame(
                {"y": y[test], "mean": iv.mean, "lower": iv.lower, "upper": iv.upper},
                index=index[test],
            )
        rows.append(
            dict(
                series=name,
                seed=seed,
                alpha=alpha,
                method=method,
                coverage=m["coverage"],
                width=m["width"],
                interval_score=m["interval_score"],
                seconds=seconds,
                n_fit=n_fit,
                n_calibration=n_calibration,
                n_test=test.size,
                note=note,
            )
        )

    # bsdl needs no calibration set: one fit on train + calibration, as a user would do;
    # the hybrid (bsdl's interval, aggregated ACI levels) walks the test span with the same fit
    if "bsdl" in methods or "hybrid" in methods:
        t0 = time.perf_counter()
        full = OneStepForecaster(base, y).fit(pos[:n_full], y[:n_full])
        full_seconds = time.perf_counter() - t0
        for alpha in alphas:
            if "bsdl" in methods:
                t0 = time.perf_counter()
                pi = full.predict_interval(test, alpha=alpha)
                seconds = full_seconds + time.perf_counter() - t0
                record("bsdl", alpha, pi, seconds, n_full, 0)
            if "hybrid" in methods:
                t0 = time.perf_counter()
                hy = AdaptiveAsymptotic(full).predict_online(test, y[test], alpha)
                seconds = full_seconds + time.perf_counter() - t0
                record("hybrid", alpha, hy, seconds, n_full, 0)

    # the calibration-based methods share one fit on the training span
    if wrappers:
        t0 = time.perf_counter()
        fitted = OneStepForecaster(base, y).fit(pos[:n_train], y[:n_train])
        fit_seconds = time.perf_counter() - t0
        make = {
            "conformalized": lambda: ConformalizedAsymptotic(fitted, prefit=True),
            "split": lambda: SplitConformal(fitted, prefit=True),
            "aci": lambda: ACI(fitted, prefit=True, gamma=0.01, window=n_cal),
            "agaci": lambda: AgACI(fitted, prefit=True, window=n_cal),
            "spci": lambda: SPCI(fitted, prefit=True, n_lags=5, window=300, refit_every=5),
        }
        for alpha in alphas:
            for method in wrappers:
                t0 = time.perf_counter()
                ci = make[method]().calibrate(cal, y[cal]).predict_online(test, y[test], alpha)
                seconds = fit_seconds + time.perf_counter() - t0
                record(method, alpha, ci, seconds, n_train, n_cal)

    # the linear baselines: AutoReg and AR-GARCH(1, 1) at the BIC lags chosen on
    # train + calibration (as bsdl, no calibration set), parameters fixed along the test span
    if "autoreg" in methods or "garch" in methods:
        t0 = time.perf_counter()
        search = baseline_bic_lags(y[:n_full], int(base.lags))
        search_seconds = time.perf_counter() - t0
        lags = ", ".join(map(str, search.bic_lags)) or "none"
        note = f"lags {{{lags}}} ({search.search} BIC search over 1..{search.max_lag})"
    if "autoreg" in methods:
        t0 = time.perf_counter()
        fc = autoreg_forecasts(y[:n_full], search.bic_lags, series=y, alpha=alphas[0])
        at = test - int(search.bic_lags.max(initial=0))  # one_step starts at position max lag
        one = PredictionIntervals(fc.one_step.mean[at], fc.one_step.se[at], alpha=alphas[0])
        fit_ar = search_seconds + time.perf_counter() - t0
        for alpha in alphas:
            t1 = time.perf_counter()
            pi = one.with_alpha(alpha)
            seconds = fit_ar + time.perf_counter() - t1
            record("autoreg", alpha, pi, seconds, n_full, 0, note)
    if "garch" in methods:
        need = GARCH_MIN_FIT + int(search.bic_lags.max(initial=0))
        if n_full < need:
            skip = f"skipped: {n_full} fitting points, GARCH needs at least {need}"
            for alpha in alphas:
                record("garch", alpha, None, np.nan, n_full, 0, skip)
        else:
            t0 = time.perf_counter()
            gf = garch_forecasts(y, search.bic_lags, n_full, dist="t")
            fit_garch = search_seconds + time.perf_counter() - t0
            g_note = f"{note}; t innovations, nu {gf.nu:.1f}, alpha + beta {gf.persistence:.3f}"
            for alpha in alphas:
                t1 = time.perf_counter()
                pi = gf.intervals(alpha)
                seconds = fit_garch + time.perf_counter() - t1
                record("garch", alpha, pi, seconds, n_full, 0, g_note)

    # EnbPI needs no calibration set either: bootstrap refits on train + calibration
    if "enbpi" in methods:
        _run_enbpi(record, base, y, pos, test, alphas, first, n_full, n_bootstraps, seed)
    return rows, intervals


def _run_enbpi(record, base, y, pos, test, alphas, first, n_full, n_bootstraps, seed) -> None:
    n_rows = n_full - first
    block = max(int(round(n_rows ** (1 / 3))), first + 1)
    if n_rows // block < MIN_BLOCKS:
        note = (
            f"skipped: {n_rows} training rows make {n_rows // block} bootstrap blocks of "
            f"{block} (lags + window); EnbPI needs at least {MIN_BLOCKS}"
        )
        for alpha in alphas:
            record("enbpi", alpha, None, np.nan, n_full, 0, note)
        return
    t0 = time.perf_counter()
    enb = EnbPI(
        OneStepForecaster(base, y),
        n_bootstraps=n_bootstraps,
        block_length=block,
        random_state=seed,
    ).fit(pos[first:n_full], y[first:n_full])
    fit_enb = time.perf_counter() - t0
    for alpha in alphas:
        t1 = time.perf_counter()
        ci = enb.predict_online(test, y[test], alpha=alpha)
        seconds = fit_enb + time.perf_counter() - t1
        record("enbpi", alpha, ci, seconds, n_full, 0)
