# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Vignette 7: a sparse transformer for series: lag selection and one-step intervals
#
# `bsdl.SparseTransformer` replaces the recurrent network of Zhang, Sun & Liang (NeurIPS
# 2023) by a small causal transformer encoder over the same lag vectors: at each step the
# input is the vector of the last `L` values, projected to the residual stream, so the
# columns of the input projection that survive pruning select the lags. Everything else
# (the spike-and-slab prior, annealing, pruning, refit, the delta-method intervals) is the
# `SparseRNN` pipeline. This vignette asks whether the transformer keeps the RNN's
# properties, on the designs of vignette 02 and on real series, against the strongest
# linear baseline:
#
# * **lag selection**: `SparseTransformer(lags=10)` and `SparseRNN(lags=10)` with their
#   defaults (one restart each, `random_state=r`), against statsmodels' **global BIC**
#   (`bsdl.baselines.ar_lag_search(y, 10, glob=True)`, i.e. `ar_select_order(y, 10,
#   ic="bic", glob=True)`: the best of all 2^10 lag subsets). The transformer's selection
#   is what `bsdl.selection.select_ar_order(y, 10, model="transformer", n_restarts=1)`
#   returns beside the statsmodels searches;
# * **one-step 90 % intervals** on held-out points after the training data:
#   `predict_interval(series=y, alpha=0.1)` of each network, against statsmodels'
#   `AutoReg` fitted on the same training points at the global-BIC lags
#   (`bsdl.baselines.autoreg_forecasts`: normal quantiles and the fitted innovation sd,
#   no parameter uncertainty): coverage, mean width, interval score and the RMSE of the
#   point forecast;
# * **a deep forecaster from the ecosystem** (optional, the `bench` extra): neuralforecast's
#   `MLP(h=1, input_size=L)` with the quantile loss `MQLoss(level=[90, 95])` (its median is
#   the point forecast; no lag selection, no parameter uncertainty), fitted once on the same
#   training points with `random_seed=r` and forecasting each held-out point from its own past
#   (`cross_validation(h=1, step_size=1, refit=False)`; helper `_deep_baselines.py`). Its
#   default 1024-unit MLP trained for 1000 steps overfits 1000 points until its quantiles
#   collapse, so the vignette uses 64 hidden units and early stopping on the last 10 % of the
#   training points (checked every 50 steps, patience 3). Without neuralforecast it is
#   skipped with a note in report.md.
#
# **Designs** (vignette 02's simulators in `bsdl.datasets`, innovations N(0, 1)):
# **linear AR** `make_ar` (true lags {1, 3, 7}), **nonlinear AR** `make_nonlinear_ar`
# ({1, 2, 5}) and **even AR** `make_even_ar` ({1, 3}, lag 3 only through an even function,
# invisible to a linear search). **Real series**: yearly sunspots and the monthly El Niño
# temperature (bundled with statsmodels), fitted on the first 80 % and scored on the rest.
#
# The issue that introduced the transformer set three targets, checked here as measured:
# exact lag-set recovery within 0.1 of the RNN's at n >= 1000, one-step 90 % coverage within
# 2 binomial standard errors of 0.9 on the simulated designs, and a fit of the defaults on
# 1000 points in at most twice the RNN's time.
#
# Full mode: n = 1000 training points, 10 replicates per design, 500 held-out points per
# replicate.
# Quick mode (`BSDL_QUICK=1`): n = 300, 1 replicate, candidate lags 1..8, 30 epochs,
# 100 held-out points, sunspots only, 50 training steps of the deep baseline (no early
# stopping); it only checks that the pipeline runs.

# %%
from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels  # noqa: E402
from _common import (  # noqa: E402
    FitCache,
    announce,
    apply_grid_overrides,
    bsdl_warning_names,
    deviation_notes,
    dodged_errorbar,
    failed_fit_lines,
    kwargs_text,
    log_n_axis,
    mean_sd,
    method_styles,
    n_jobs,
    note_lines,
    out_dir,
    panels,
    quick_mode,
    save_figure,
    show,
    write_report,
)
from _deep_baselines import FULL_KWARGS as DEEP_FULL_KWARGS  # noqa: E402
from _deep_baselines import METHOD as DEEP_METHOD  # noqa: E402
from _deep_baselines import QUICK_KWARGS as DEEP_QUICK_KWARGS  # noqa: E402
from _deep_baselines import VAL_SHARE as DEEP_VAL_SHARE  # noqa: E402
from _deep_baselines import fit_neuralforecast  # noqa: E402
from _deep_baselines import missing as deep_missing  # noqa: E402
from _deep_baselines import version as deep_version  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402

from bsdl import SparseRNN, SparseTransformer  # noqa: E402
from bsdl.baselines import ar_lag_search, autoreg_forecasts  # noqa: E402
from bsdl.conformal.metrics import coverage, interval_score, mean_width  # noqa: E402
from bsdl.datasets import (  # noqa: E402
    EVEN_AR_LAGS,
    NONLINEAR_AR_LAGS,
    load_series,
    make_ar,
    make_even_ar,
    make_nonlinear_ar,
)
from bsdl.plotting import plot_forecast, plot_interval_comparison  # noqa: E402

NAME = "07_sparse_transformer"
QUICK = quick_mode()
ALPHA = 0.1  # 90 % intervals

if QUICK:
    CONFIG = dict(
        ns=[300],
        n_reps=1,
        max_lag=8,  # >= 7, the largest true lag of the linear design
        n_test=100,
        bsdl_kwargs=dict(n_epochs=30),
        deep_kwargs=DEEP_QUICK_KWARGS,
        deep_val_share=0.0,
        real_series=["sunspots"],
    )
else:
    CONFIG = dict(
        ns=[1000],
        n_reps=10,
        max_lag=10,
        n_test=500,
        bsdl_kwargs={},
        deep_kwargs=DEEP_FULL_KWARGS,
        deep_val_share=DEEP_VAL_SHARE,
        real_series=["sunspots", "elnino"],
    )
# The full design: the targets are stated at n >= 1000; n = 2000 (a fit of each
# network takes 2-4 times longer there) does not fit the 40-minute budget of a run on a
# shared 2-core machine. BSDL_VIGNETTE_NS=1000,2000 runs it (stated in report.md).
FULL_NS = [1000]
FULL_REPS = 10
apply_grid_overrides(CONFIG)
N_JOBS = n_jobs()
DESIGNS = {
    "linear AR": (1, 3, 7),
    "nonlinear AR": tuple(NONLINEAR_AR_LAGS),
    "even AR": tuple(EVEN_AR_LAGS),
}
NETWORKS = {"transformer": SparseTransformer, "RNN": SparseRNN}
SELECTORS = ["transformer", "RNN", "global BIC"]  # global BIC: AutoReg at those lags
DEEP_MISSING = deep_missing()  # {method: package} when neuralforecast is not installed
METHODS = SELECTORS + ([] if DEEP_MISSING else [DEEP_METHOD])
REAL_SHARE = 0.8  # real series: fit on the first 80 %, score the rest

OUT = out_dir(NAME, HERE)
announce(OUT, CONFIG, N_JOBS)


def git_commit() -> str:
    """The commit this run used: ``BSDL_VIGNETTE_COMMIT`` (for a tree exported with
    ``git archive``), else ``git rev-parse`` (with a note if bsdl/ or vignettes/ had
    uncommitted changes)."""
    if os.environ.get("BSDL_VIGNETTE_COMMIT"):
        return os.environ["BSDL_VIGNETTE_COMMIT"] + " (exported tree)"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "../bsdl", "."],
            capture_output=True,
            text=True,
            cwd=HERE,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return head + (" (+ uncommitted changes under bsdl/ or vignettes/)" if dirty else "")


COMMIT = git_commit()

# %% [markdown]
# ## Data and seeds
#
# Replicate r of design d at training size n draws a series of n + m values (m held-out
# points) with `numpy.random.default_rng([d, r, n])`, the seeds of vignette 02 (d = 0
# linear, 1 nonlinear, 2 even; the series are longer by the held-out span, so they are not
# vignette 02's series). Both networks get `random_state=r`; every method sees the same
# training points and is scored on the same held-out points.


# %%
def simulate(design: str, n_total: int, rep: int, n: int) -> np.ndarray:
    rng = np.random.default_rng([list(DESIGNS).index(design), rep, n])
    if design == "linear AR":
        return make_ar(n_total, random_state=rng)  # {1: 0.5, 3: -0.3, 7: 0.2}
    if design == "even AR":
        return make_even_ar(n_total, random_state=rng)
    return make_nonlinear_ar(n_total, random_state=rng)


def lag_metrics(lags, true: tuple[int, ...] | None) -> dict:
    s = {int(j) for j in lags}
    out = dict(lags=" ".join(map(str, sorted(s))), n_lags=len(s), order=max(s, default=0))
    if true is not None:
        out.update(exact=float(s == set(true)), correct_order=float(out["order"] == max(true)))
    return out


def interval_metrics(y_test: np.ndarray, pi) -> dict:
    """One-step metrics of the PredictionIntervals ``pi`` over the held-out points (its last
    len(y_test) rows): 90 % coverage, width and interval score, 95 % coverage, RMSE."""
    m = len(y_test)
    mean = np.asarray(pi.mean, dtype=float)[-m:]
    lower, upper = np.asarray(pi.conf_int(alpha=ALPHA), dtype=float)[-m:].T
    lower95, upper95 = np.asarray(pi.conf_int(alpha=0.05), dtype=float)[-m:].T
    return dict(
        coverage=coverage(y_test, lower, upper),
        width=mean_width(lower, upper),
        score=interval_score(y_test, lower, upper, ALPHA),
        coverage95=coverage(y_test, lower95, upper95),
        rmse=float(np.sqrt(np.mean((y_test - mean) ** 2))),
    )


# %% [markdown]
# ## One replicate
#
# Fit each network on the first n points, read its one-step 90 % intervals along the whole
# series without refitting and keep the held-out rows; then the global BIC search on the same
# n points and `AutoReg` at its lags. A fit that raises is recorded with its message (a miss
# for selection, left out of the interval metrics) and listed in report.md.


# %%
def fit_network(kind: str, train, series, rep: int, true) -> tuple[dict, object]:
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = NETWORKS[kind](
                lags=CONFIG["max_lag"], random_state=rep, **CONFIG["bsdl_kwargs"]
            ).fit(train)
            pi = model.predict_interval(series=series, alpha=ALPHA)
        except Exception as exc:  # recorded and reported, see above
            row = dict(method=kind, seconds=time.perf_counter() - t0, error=repr(exc)[:300])
            if true is not None:
                row.update(exact=0.0, correct_order=0.0)
            return row, None
    seconds = time.perf_counter() - t0
    y_test = np.asarray(series, dtype=float)[len(train) :]
    row = dict(
        method=kind,
        **lag_metrics(model.selected_lags_, true),
        **interval_metrics(y_test, pi),
        seconds=seconds,
        n_nonzero=int(model.n_nonzero_),
        error="",
        warnings=bsdl_warning_names(caught),
    )
    return row, (model, pi)


def fit_autoreg(train, series, true) -> tuple[dict, object]:
    t0 = time.perf_counter()
    search = ar_lag_search(train, CONFIG["max_lag"], glob=True, trend="c")
    ar = autoreg_forecasts(train, search.bic_lags, series=series, alpha=ALPHA).one_step
    y_test = np.asarray(series, dtype=float)[len(train) :]
    row = dict(
        method="global BIC",
        **lag_metrics(search.bic_lags, true),
        **interval_metrics(y_test, ar),
        seconds=time.perf_counter() - t0,
        n_nonzero=len(search.bic_lags) + 1,
        error="",
        warnings="",
    )
    return row, ar


def fit_deep(n_train: int, series, rep: int) -> tuple[dict, object]:
    """neuralforecast's MLP (see the header): one fit on the first ``n_train`` points, one-step
    90 / 95 % quantile intervals on the rest; no lag selection."""
    y = np.asarray(series, dtype=float)
    y_test = y[n_train:]
    try:
        out = fit_neuralforecast(
            y,
            n_train,
            CONFIG["max_lag"],
            rep,
            val_size=int(round(CONFIG["deep_val_share"] * n_train)),
            **CONFIG["deep_kwargs"],
        )
    except Exception as exc:  # recorded and reported, as for the networks
        return dict(method=DEEP_METHOD, seconds=np.nan, error=repr(exc)[:300]), None
    row = dict(
        method=DEEP_METHOD,
        lags=f"all 1..{CONFIG['max_lag']} (no selection)",
        coverage=coverage(y_test, out["lo90"], out["hi90"]),
        width=mean_width(out["lo90"], out["hi90"]),
        score=interval_score(y_test, out["lo90"], out["hi90"], ALPHA),
        coverage95=coverage(y_test, out["lo95"], out["hi95"]),
        rmse=float(np.sqrt(np.mean((y_test - out["mean"]) ** 2))),
        seconds=out["seconds"],
        error="",
        warnings="",
    )
    return row, out


def run_one(design: str, n: int, rep: int) -> list[dict]:
    true = DESIGNS[design]
    y = simulate(design, n + CONFIG["n_test"], rep, n)
    base = dict(design=design, n=n, rep=rep)
    rows = [dict(base, **fit_network(kind, y[:n], y, rep, true)[0]) for kind in NETWORKS]
    rows.append(dict(base, **fit_autoreg(y[:n], y, true)[0]))
    if not DEEP_MISSING:
        rows.append(dict(base, **fit_deep(n, y, rep)[0]))
    return rows


# %% [markdown]
# ## Run the study
#
# One line per (design, n, replicate); per-fit results in `results.csv`. `BSDL_N_JOBS=k`
# runs replicates in k worker processes (with `OMP_NUM_THREADS=1`); `BSDL_VIGNETTE_CACHE`
# resumes an interrupted run (see the vignettes' README).

# %%
CACHE = FitCache(NAME, HERE / f"{NAME}.py")


def task_key(design: str, n: int, rep: int) -> dict:
    return dict(
        design=design,
        n=n,
        rep=rep,
        max_lag=CONFIG["max_lag"],
        n_test=CONFIG["n_test"],
        bsdl_kwargs=CONFIG["bsdl_kwargs"],
        # only when the deep baseline runs: cached runs without it stay valid
        **(
            {}
            if DEEP_MISSING
            else dict(deep_kwargs=CONFIG["deep_kwargs"], deep_val_share=CONFIG["deep_val_share"])
        ),
    )


def warm_up() -> None:
    """A tiny fit and interval call of each network: one-time costs (lazy imports such as
    torch.func) stay out of the first replicate's fit time."""
    y = make_ar(150, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cls in NETWORKS.values():
            model = cls(lags=3, window=4, n_epochs=2, refit_epochs=1, random_state=0).fit(y)
            model.predict_interval(series=y, alpha=ALPHA)


warm_up()
t_start = time.perf_counter()
tasks = [(d, n, rep) for d in DESIGNS for n in CONFIG["ns"] for rep in range(CONFIG["n_reps"])]
rows = []
for task, task_rows in CACHE.map(run_one, tasks, task_key, N_JOBS):
    rows += task_rows
    design, n, rep = task
    by = {r["method"]: r for r in task_rows}
    print(
        f"[{time.perf_counter() - t_start:7.1f}s] {design:<12s} n={n:<5d} rep={rep:<2d} "
        + " ".join(f"{m.replace(' ', '-')}=[{by[m].get('lags', 'ERR')}]" for m in SELECTORS)
        + " fit s "
        + "/".join(f"{by[k]['seconds']:.1f}" for k in NETWORKS),
        flush=True,
    )
sim_seconds = time.perf_counter() - t_start
results = pd.DataFrame(rows)
results.to_csv(OUT / "results.csv", index=False)

# %% [markdown]
# ## Lag selection
#
# Per design, n and method: exact-recovery and correct-order rates ± binomial se
# sqrt(p(1 - p) / R) over the R replicates, the number of selected lags, mean fit seconds.
# The target of the issue: the transformer's exact rate within 0.1 of the RNN's at n >= 1000.
# With R replicates the se of a difference of two rates is up to sqrt(0.5 / R) (0.22 for
# R = 10), so only large differences can be resolved.


# %%
def _rate(values: pd.Series) -> str:
    p, r = float(values.mean()), len(values)
    return f"{p:.2f} ± {np.sqrt(p * (1 - p) / r):.2f}"


def selection_table() -> pd.DataFrame:
    out = []
    for design in DESIGNS:
        for n in CONFIG["ns"]:
            for method in SELECTORS:
                sub = results[
                    (results.design == design) & (results.n == n) & (results.method == method)
                ]
                out.append(
                    {
                        "design": design,
                        "n": n,
                        "method": method,
                        "exact lag set": _rate(sub["exact"]),
                        "correct order": _rate(sub["correct_order"]),
                        "no. lags": mean_sd(sub["n_lags"], 2),
                        "mean fit (s)": f"{sub['seconds'].mean():.3g}",
                        "failed fits": int((sub["error"] != "").sum()),
                    }
                )
    return pd.DataFrame(out)


selection_md = show(selection_table())

# %% [markdown]
# ## One-step 90 % intervals on the held-out points
#
# Coverage pooled over the R x m held-out points, with two standard errors: the **binomial
# se** sqrt(0.9 x 0.1 / (R m)) that exactly calibrated, independent points would give
# (the target: |coverage - 0.9| <= 2 binomial se), and the **replicate se** (sd of
# the R per-replicate coverages / sqrt(R)), which also holds the fit-to-fit variation and is
# the honest one: points of one replicate share one fitted model. Width, interval score
# (lower is better) and RMSE of the point forecast: mean ± sd over replicates. The last
# column reads the same intervals at 95 %.


# %%
def coverage_table(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = []
    for key, sub_all in frame[frame.error == ""].groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        for method in METHODS:
            sub = sub_all[sub_all.method == method]
            if sub.empty:
                continue
            r = len(sub)
            points = r * CONFIG["n_test"]
            cov = float(sub["coverage"].mean())
            binom = np.sqrt((1 - ALPHA) * ALPHA / points)
            rep_se = sub["coverage"].std(ddof=1) / np.sqrt(r) if r > 1 else np.nan
            row = dict(zip(keys, key))
            row.update(
                {
                    "method": method,
                    "90% coverage": f"{cov:.3f}",
                    "binomial se": f"{binom:.4f}",
                    "replicate se": "NA" if np.isnan(rep_se) else f"{rep_se:.4f}",
                    "within 2 binomial se": "yes" if abs(cov - (1 - ALPHA)) <= 2 * binom else "no",
                    "mean width": mean_sd(sub["width"], 3),
                    "interval score": mean_sd(sub["score"], 3),
                    "RMSE": mean_sd(sub["rmse"], 3),
                    "95% coverage (binomial se)": (
                        f"{sub['coverage95'].mean():.3f} ({np.sqrt(0.95 * 0.05 / points):.4f})"
                    ),
                    "mean fit (s)": f"{sub['seconds'].mean():.3g}",
                }
            )
            out.append(row)
    return pd.DataFrame(out)


coverage_md = show(coverage_table(results, ["design", "n"]))

# %% [markdown]
# ## Fit time
#
# The target: a fit of the defaults on 1000 points in at most twice the RNN's time.
# Per design at each n: the median over replicates of the per-replicate ratio transformer
# seconds / RNN seconds (both fitted one after the other in the same process on the same
# series; other load on the machine moves both).


# %%
def time_table() -> pd.DataFrame:
    ok = results[results.error == ""]
    t = ok[ok.method.isin(list(NETWORKS))].pivot_table(
        index=["design", "n", "rep"], columns="method", values="seconds"
    )
    ratio = t["transformer"] / t["RNN"]
    out = []
    for design in DESIGNS:
        for n in CONFIG["ns"]:
            if (design, n) not in ratio.index.droplevel("rep"):
                continue
            sec, sub = t.loc[(design, n)], ratio.loc[(design, n)]
            out.append(
                {
                    "design": design,
                    "n": n,
                    "transformer s (median)": f"{sec['transformer'].median():.1f}",
                    "RNN s (median)": f"{sec['RNN'].median():.1f}",
                    "ratio (median)": f"{sub.median():.2f}",
                    "ratio (min-max)": f"{sub.min():.2f}-{sub.max():.2f}",
                }
            )
    return pd.DataFrame(out)


time_md = show(time_table())

# %% [markdown]
# ## Real series
#
# Sunspots (309 yearly values) and the El Niño sea-surface temperature (732 monthly
# values; its yearly cycle, lag 12, lies beyond the 10 candidate lags): each method is fitted
# on the first 80 % and its one-step 90 % intervals are scored on the remaining 20 %
# (62 and 147 points: a binomial se of 0.038 and 0.025). One fit per network
# (`random_state=0`); the true lags are unknown.


# %%
def run_real(name: str) -> tuple[list[dict], dict]:
    y = load_series(name)
    cut = int(round(REAL_SHARE * len(y)))
    train = y.iloc[:cut]
    rows, fitted = [], {}
    for kind in NETWORKS:
        row, out = fit_network(kind, train, y, 0, None)
        rows.append(row)
        fitted[kind] = out
    row, ar = fit_autoreg(train, y, None)
    rows.append(row)
    fitted["global BIC"] = ar
    if not DEEP_MISSING:
        row, out = fit_deep(cut, y, 0)
        rows.append(row)
        fitted[DEEP_METHOD] = out
    base = dict(series=name, n=len(y), n_train=cut, n_test=len(y) - cut)
    return [dict(base, **r) for r in rows], dict(y=y, cut=cut, fitted=fitted)


t0 = time.perf_counter()
real = Parallel(n_jobs=N_JOBS)(delayed(run_real)(name) for name in CONFIG["real_series"])
real_seconds = time.perf_counter() - t0
real_results = pd.DataFrame([r for rows_, _ in real for r in rows_])
real_results.to_csv(OUT / "real_series.csv", index=False)
real_table = real_results.assign(
    **{
        "selected lags": real_results["lags"].fillna("failed").replace("", "none"),
        "90% coverage": real_results["coverage"].map(lambda v: f"{v:.3f}"),
        "95% coverage": real_results["coverage95"].map(lambda v: f"{v:.3f}"),
        "binomial se": [f"{np.sqrt(ALPHA * (1 - ALPHA) / m):.3f}" for m in real_results["n_test"]],
        "mean width": real_results["width"].map(lambda v: f"{v:.3g}"),
        "interval score": real_results["score"].map(lambda v: f"{v:.3g}"),
        "RMSE": real_results["rmse"].map(lambda v: f"{v:.3g}"),
        "fit s": real_results["seconds"].map(lambda v: f"{v:.1f}"),
    }
)[
    [
        "series",
        "n_train",
        "n_test",
        "method",
        "selected lags",
        "90% coverage",
        "binomial se",
        "95% coverage",
        "mean width",
        "interval score",
        "RMSE",
        "fit s",
    ]
]
real_md = show(real_table)

# %% [markdown]
# ## Figures
#
# Exact recovery and 90 % coverage against n per design; then, from `bsdl.plotting`, the
# held-out one-step intervals of the three methods on the first real series
# (`plot_interval_comparison`) and the transformer's fan chart there (`plot_forecast`:
# recursive 1..12-step forecast from the end of its training span, joint by Bonferroni, with
# the held-out values and its one-step intervals).

# %%
DODGE = {"transformer": 0.95, "RNN": 1.0, "global BIC": 1.05, DEEP_METHOD: 1.1}
STYLE = method_styles(METHODS)


def plot_study() -> Path:
    fig, axes = panels(2, len(DESIGNS), 4.5, 6.5)
    ns = CONFIG["ns"]
    for col, (design, true) in enumerate(DESIGNS.items()):
        for row, key in enumerate(("exact", "coverage")):
            ax = axes[row, col]
            for method in SELECTORS if key == "exact" else METHODS:
                sub = results[
                    (results.design == design) & (results.method == method) & (results.error == "")
                ]
                g = sub.groupby("n")[key]
                mean, count = g.mean().reindex(ns), g.size().reindex(ns)
                if key == "exact":
                    se = np.sqrt(mean * (1 - mean) / count)
                else:
                    se = g.std(ddof=1).reindex(ns) / np.sqrt(count)
                dodged_errorbar(ax, mean.index, mean.values, se.values, method, DODGE, STYLE)
            if key == "coverage":
                ax.axhline(1 - ALPHA, color="k", lw=0.8, ls=":")
                ax.set_ylabel("90% one-step coverage (± replicate se)")
            else:
                ax.set_ylim(-0.05, 1.05)
                ax.set_ylabel("exact lag-set rate (± binomial se)")
            log_n_axis(ax, ns, "n (training points)")
            ax.set_xlim(min(ns) / 1.3, max(ns) * 1.3)
            ax.set_title(f"{design}, true lags {set(true)}", fontsize=9)
    axes[0, 0].legend(fontsize=8)
    return save_figure(fig, OUT / "study.png")


def plot_real_intervals() -> list[Path]:
    item = real[0][1]
    y, cut, fitted = item["y"], item["cut"], item["fitted"]
    held = y.iloc[cut:]
    frames = {}
    for method in SELECTORS:  # the deep baseline's quantiles are in the tables only
        out = fitted[method]
        if out is None:
            continue
        pi = out[1] if method in NETWORKS else out
        frame = pi.to_frame().iloc[-len(held) :]
        frames[method] = frame.assign(y=held.to_numpy())
    name = CONFIG["real_series"][0]
    paths = [
        save_figure(
            plot_interval_comparison(
                frames, title=f"{name}: one-step 90% intervals on the last {len(held)} points"
            ),
            OUT / "real_intervals.png",
        )
    ]
    if fitted["transformer"] is not None:
        model = fitted["transformer"][0]
        fig = plot_forecast(
            y.iloc[:cut],
            model.predict_interval(steps=12, alpha=ALPHA),
            actual=held,
            one_step=model.predict_interval(series=held, alpha=ALPHA),  # history: the fit's
            levels=(0.8, 0.9),
            title=f"{name}: SparseTransformer forecast from the end of its training span",
        )
        paths.append(save_figure(fig, OUT / "real_forecast.png"))
    return paths


figures = [plot_study(), *plot_real_intervals()]
total_seconds = time.perf_counter() - t_start

# %% [markdown]
# ## Report


# %%
def verdicts() -> list[str]:
    """The issue's targets, read from this run's tables."""
    lines = []
    ok = results[results.error == ""]
    big = [n for n in CONFIG["ns"] if n >= 1000]
    for design in DESIGNS:
        for n in big:
            rate = {
                m: results[(results.design == design) & (results.n == n) & (results.method == m)][
                    "exact"
                ].mean()
                for m in NETWORKS
            }
            diff = rate["transformer"] - rate["RNN"]
            lines.append(
                f"* exact lag set, {design}, n = {n}: transformer {rate['transformer']:.2f}, "
                f"RNN {rate['RNN']:.2f} (difference {diff:+.2f}; target >= -0.10: "
                f"{'met' if diff >= -0.1 else 'missed'})."
            )
    for design in DESIGNS:
        for n in CONFIG["ns"]:
            sub = ok[(ok.design == design) & (ok.n == n) & (ok.method == "transformer")]
            if sub.empty:
                continue
            cov = sub["coverage"].mean()
            binom = np.sqrt(ALPHA * (1 - ALPHA) / (len(sub) * CONFIG["n_test"]))
            verdict = "met" if abs(cov - (1 - ALPHA)) <= 2 * binom else "missed"
            lines.append(
                f"* transformer 90% coverage, {design}, n = {n}: {cov:.3f} (binomial se "
                f"{binom:.4f}; target within 2 se: {verdict})."
            )
    return lines


def deviations() -> list[str]:
    notes = deviation_notes(
        "n = 300, 1 replicate, candidate lags 1..8, 30 epochs for both networks, 100 "
        "held-out points, sunspots only",
        CONFIG,
        FULL_NS,
        FULL_REPS,
        CACHE,
    )
    for method, package in DEEP_MISSING.items():
        notes.append(
            f"{method} not run: the package `{package}` is not installed "
            "(`pip install -e .[bench]`)."
        )
    return notes


failures = results[results.error != ""].assign(error=lambda f: f["method"] + ": " + f["error"])
lines = [
    "# Vignette 7: a sparse transformer for series: lag selection and one-step intervals",
    "",
    f"Mode: **{'quick' if QUICK else 'full'}**. Commit: `{COMMIT}`. Command: "
    "`" + ("BSDL_QUICK=1 " if QUICK else "") + f"OMP_NUM_THREADS=1 python vignettes/{NAME}.py`.",
    "",
    "Designs (vignette 02's simulators): **linear AR** `make_ar` (true lags {1, 3, 7}), "
    "**nonlinear AR** `make_nonlinear_ar` ({1, 2, 5}), **even AR** `make_even_ar` ({1, 3}, "
    f"lag 3 only through an even function); n in {CONFIG['ns']} training points, "
    f"{CONFIG['n_test']} held-out points after them, {CONFIG['n_reps']} replicates per n and "
    "design (series `default_rng([d, r, n])` of length n + m).",
    "",
    "Methods: **transformer** = `SparseTransformer(lags="
    f"{CONFIG['max_lag']}, random_state=r" + kwargs_text(CONFIG["bsdl_kwargs"]) + ")`, "
    "**RNN** = `SparseRNN(lags="
    f"{CONFIG['max_lag']}, random_state=r" + kwargs_text(CONFIG["bsdl_kwargs"]) + ")` "
    "(defaults otherwise: one restart each), one-step intervals "
    "`predict_interval(series=y, alpha=0.1)`; **global BIC** = "
    f"`ar_lag_search(y[:n], {CONFIG['max_lag']}, glob=True).bic_lags` (statsmodels' "
    "`ar_select_order(..., ic='bic', glob=True)`, all lag subsets) and "
    "`autoreg_forecasts(y[:n], lags, series=y, alpha=0.1)` (statsmodels `AutoReg` at those "
    "lags, normal quantiles, no parameter uncertainty)."
    + (
        ""
        if DEEP_MISSING
        else f" **{DEEP_METHOD}** = neuralforecast {deep_version()} `MLP(h=1, input_size="
        f"{CONFIG['max_lag']}, loss=MQLoss(level=[90, 95]), random_seed=r"
        + kwargs_text(CONFIG["deep_kwargs"])
        + ")`, early-stopping share of the training points "
        f"{CONFIG['deep_val_share']:g}, fitted once; one-step quantile intervals of each "
        "held-out point from its own past (`cross_validation(h=1, step_size=1, refit=False)`); "
        "point forecast = median; no lag selection."
    ),
    "",
    *note_lines(deviations()),
    "## Lag selection",
    "",
    "Rates ± binomial se sqrt(p(1 - p) / R); number of lags mean ± sd; failed fits count as "
    "misses.",
    "",
    selection_md,
    "",
    "## One-step 90% intervals (held-out points)",
    "",
    "Coverage pooled over R x m points; binomial se = sqrt(0.9 x 0.1 / (R m)); replicate se "
    "= sd of per-replicate coverages / sqrt(R) (points of one replicate share a fit, so this "
    "is the se to read). Width, interval score and RMSE: mean ± sd over replicates.",
    "",
    coverage_md,
    "",
    "## Fit time: transformer / RNN",
    "",
    time_md,
    "",
    "## Real series",
    "",
    f"Fit on the first {REAL_SHARE:.0%}, scored on the rest; {real_seconds:.1f} s for all series.",
    "",
    real_md,
    "",
    "## The issue's targets, as measured",
    "",
    *verdicts(),
    "",
    *failed_fit_lines(failures),
]
write_report(
    OUT,
    lines,
    figures,
    total_seconds,
    time_detail=f" (simulations {sim_seconds / 60:.1f} min)",
    environment_extra=(
        f"statsmodels {statsmodels.__version__}",
        *([] if DEEP_MISSING else [f"neuralforecast {deep_version()}"]),
    ),
)
