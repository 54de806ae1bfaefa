# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Vignette 2: autoregressive lag selection (Zhang, Sun & Liang, NeurIPS 2023)
#
# Zhang, Sun & Liang (2023), *Sparse deep learning for time series data: theory and
# applications*, fit a recurrent network whose input at each step is the vector of the last
# `L` values of the series, under a mixture-Gaussian spike-and-slab prior. Pruning the input
# layer then selects the lags that drive the series, and the selection is consistent: the
# probability that the selected set equals the true set of lags tends to one as the series grows.
# This vignette checks that claim with the public `bsdl` API and compares it with the classical
# choice of an autoregressive order by an information criterion:
#
# * **bsdl**: `bsdl.selection.select_ar_order(y, max_lag=10, random_state=r)`, i.e. a
#   `SparseRNN(lags=10, n_restarts=3)` with its defaults (Elman cell, prior annealing, pruning at
#   posterior inclusion probability 1/2, then BIC: the linear skip path's lags chosen over all
#   lag subsets on the network's residual, jointly with removing hidden units, the recurrence
#   or the whole network while BIC falls; the restart with the smallest BIC kept). The
#   selected lags are the lags whose input weights survive and still reach the output. When
#   the whole network goes, the lags are those of the global BIC search on the same sample
#   (`docs/CONVENTIONS.md`), so on a linear series bsdl can at best tie global BIC; it can
#   beat it only where the network pays.
# * **AIC** and **BIC**: `statsmodels.tsa.ar_model.ar_select_order(y, maxlag=10, ic=...,
#   trend="c")`, the same comparison that `select_ar_order` returns as `aic_lags` and
#   `bic_lags`. An information criterion chooses an *order* p and keeps all lags 1..p.
# * **global AIC** and **global BIC**: the same with `glob=True`, statsmodels' search over all
#   2^10 = 1024 lag subsets (`select_ar_order`'s `global_aic_lags` / `global_bic_lags`,
#   `bsdl.baselines.ar_lag_search(y, 10, glob=True)`). This is the strongest classical
#   baseline: a linear subset search can recover a lag set with gaps, and BIC over subsets
#   is consistent for the lags of a linear AR.
#
# **Designs.** Three simulated series whose relevant lags are known, innovations N(0, 1):
#
# * **linear AR**: `make_ar(n)` with its default sparse AR(7),
#   $y_t = 0.5 y_{t-1} - 0.3 y_{t-3} + 0.2 y_{t-7} + \varepsilon_t$, true lags {1, 3, 7};
# * **nonlinear AR**: `make_nonlinear_ar(n)`,
#   $y_t = 0.5 y_{t-1} - 0.7 \tanh(y_{t-2}) + 0.3 \sin(y_{t-5}) + \varepsilon_t$, true lags
#   `NONLINEAR_AR_LAGS` = {1, 2, 5}; its nonlinear terms are close to linear near 0, so a
#   linear search sees every true lag;
# * **even AR**: `make_even_ar(n)`,
#   $y_t = 0.5 y_{t-1} + 2 (e^{-y_{t-3}^2} - 0.43) + \varepsilon_t$, true lags
#   `EVEN_AR_LAGS` = {1, 3}. Lag 3 enters only through an even function (a Gaussian bump,
#   centred so that the series has mean near 0), so it has almost no *linear* correlation
#   with $y_t$ given the other lags although it explains much of its variance: a linear
#   search should miss it, a network need not. Stationary (bounded nonlinearity, linear
#   coefficient 0.5).
#
# The linear design shows where linear selection suffices (global BIC is the right tool
# there), the even design where it fails.
#
# Full mode: n in {200, 500, 1000, 2000, 5000}, 20 replicates per n and design, candidate lags
# 1..10. Then the methods are run on real series, where the truth is unknown: four shipped with
# statsmodels (yearly sunspot numbers, the Nile's annual flow, the monthly El Niño sea-surface
# temperature and US quarterly real-GDP growth) and two short classics bundled from R's
# `datasets` package (WWWusage, n = 100; BJsales, n = 150). Quick mode (`BSDL_QUICK=1`):
# n = 300, 2 replicates, candidate lags 1..8 (so that lag 7 is a candidate), 200 training
# epochs and a single restart for bsdl, and sunspots only; it only checks that the pipeline
# runs.
#
# **Metrics** per fit, with S the selected and T the true set of lags, and order(S) = max S
# (0 if S is empty):
#
# * exact lag set: S = T;
# * correct order: order(S) = max T (7 for the linear, 5 for the nonlinear design);
# * the order and the number of selected lags;
# * wall-clock time in seconds.
#
# Since AIC and BIC return S = {1, ..., p}, they can never recover a lag set with gaps such as
# {1, 3, 7} or {1, 2, 5}: their "exact lag set" rate is 0 by construction, and the fair
# comparison for them is the correct-order rate; the global searches are compared on both.
# Consistency of bsdl predicts that both of its rates tend to 1 as n grows. BIC (over orders
# or over subsets) is consistent for the lags of a linear AR; AIC is not (it overfits with
# positive probability); none of them is designed for the nonlinear series.

# %%
from __future__ import annotations

import os
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
    selected_sets,
    share_with,
    show,
    to_markdown,
    write_report,
)
from joblib import Parallel, delayed  # noqa: E402

from bsdl.baselines import ar_lag_search  # noqa: E402
from bsdl.datasets import (  # noqa: E402
    EVEN_AR_LAGS,
    NONLINEAR_AR_LAGS,
    load_bjsales,
    load_elnino,
    load_macro,
    load_nile,
    load_sunspots,
    load_wwwusage,
    make_ar,
    make_even_ar,
    make_nonlinear_ar,
)
from bsdl.selection import select_ar_order  # noqa: E402

NAME = "02_ar_order_selection"
QUICK = quick_mode()

if QUICK:
    CONFIG = dict(
        ns=[300],
        n_reps=2,
        max_lag=8,  # >= 7, the largest true lag of the linear design
        n_restarts=1,
        bsdl_kwargs=dict(n_epochs=200),
        real_series=["sunspots"],
    )
else:
    CONFIG = dict(
        ns=[200, 500, 1000, 2000, 5000],
        n_reps=20,
        max_lag=10,
        n_restarts=3,  # select_ar_order's default
        bsdl_kwargs={},
        real_series=["sunspots", "nile", "elnino", "GDP growth", "WWWusage", "BJsales"],
    )
# The full design. A reduced run (BSDL_VIGNETTE_NS="200,500,1000", BSDL_VIGNETTE_REPS=5) is
# stated as such in report.md.
FULL_NS = [200, 500, 1000, 2000, 5000]
FULL_REPS = 20
apply_grid_overrides(CONFIG)
# Independent fits run in parallel with joblib; 1 (the default) runs them one after the other.
N_JOBS = n_jobs()
# Restarts per fit in the simulation study (the real series always use CONFIG["n_restarts"]).
# BSDL_VIGNETTE_RESTARTS=1 cuts the cost of the full study by about three and is stated in
# report.md.
SIM_RESTARTS = int(os.environ.get("BSDL_VIGNETTE_RESTARTS", CONFIG["n_restarts"]))
DESIGNS = {
    "linear AR": (1, 3, 7),
    "nonlinear AR": tuple(NONLINEAR_AR_LAGS),
    "even AR": tuple(EVEN_AR_LAGS),
}
METHODS = ["bsdl", "AIC", "BIC", "global AIC", "global BIC"]
# select_ar_order's rows (to_frame) -> the methods' names here
FRAME_ROWS = {
    "bsdl SparseRNN": "bsdl",
    "statsmodels AIC": "AIC",
    "statsmodels BIC": "BIC",
    "statsmodels global AIC": "global AIC",
    "statsmodels global BIC": "global BIC",
}


OUT = out_dir(NAME, HERE)
announce(OUT, CONFIG, N_JOBS)

# %% [markdown]
# ## Data and seeds
#
# Every (design, n, replicate) triple gets its own fixed seed: the series is drawn with
# `numpy.random.default_rng([d, rep, n])` (d = 0 for the linear, 1 for the nonlinear, 2 for the
# even design), and all methods see the same series. bsdl gets `random_state=rep`. Re-running
# the vignette therefore reproduces every number (up to floating-point non-determinism of
# threaded BLAS).


# %%
def simulate(design: str, n: int, rep: int) -> np.ndarray:
    rng = np.random.default_rng([list(DESIGNS).index(design), rep, n])
    if design == "linear AR":
        return make_ar(n, random_state=rng)  # default coefficients {1: 0.5, 3: -0.3, 7: 0.2}
    if design == "even AR":
        return make_even_ar(n, random_state=rng)
    return make_nonlinear_ar(n, random_state=rng)


def lag_metrics(lags, true: tuple[int, ...]) -> dict:
    s = {int(j) for j in lags}
    order = max(s, default=0)
    return dict(
        lags=" ".join(map(str, sorted(s))),
        order=order,
        n_lags=len(s),
        exact=float(s == set(true)),
        correct_order=float(order == max(true)),
    )


# %% [markdown]
# ## The fits
#
# `select_ar_order` fits the sparse RNN and, on the same series, statsmodels' AIC and BIC
# selection over the orders and over all lag subsets. The bsdl time is the time of that call
# (the statsmodels searches in it take well under a second). To time the linear searches on
# their own, `bsdl.baselines.ar_lag_search` is called again directly, once over the orders and
# once over all subsets; each search gives the AIC and the BIC choice (the two rows of a
# search share its time), and its lags are those `select_ar_order` returns. A bsdl fit that
# raises is recorded (with its error message) rather than stopping the study; its replicate
# counts as a failure of bsdl and is listed in report.md.


# %%
def run_one(design: str, n: int, rep: int) -> list[dict]:
    true = DESIGNS[design]
    y = simulate(design, n, rep)
    rows = []
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = select_ar_order(
                y,
                max_lag=CONFIG["max_lag"],
                n_restarts=SIM_RESTARTS,
                random_state=rep,
                **CONFIG["bsdl_kwargs"],
            )
            error = ""
        except Exception as exc:  # recorded and reported, see above
            res, error = None, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - t0
    notes = bsdl_warning_names(caught)
    base = dict(design=design, n=n, rep=rep)
    if res is None:
        rows.append(
            dict(
                base,
                method="bsdl",
                lags="",
                order=np.nan,
                n_lags=np.nan,
                exact=0.0,
                correct_order=0.0,
                seconds=seconds,
                error=error,
                warnings=notes,
            )
        )
    else:
        rows.append(
            dict(
                base,
                method="bsdl",
                **lag_metrics(res.selected_lags, true),
                seconds=seconds,
                error="",
                warnings=notes,
            )
        )
    for glob, prefix in ((False, ""), (True, "global ")):
        t0 = time.perf_counter()
        search = ar_lag_search(y, CONFIG["max_lag"], glob=glob, trend="c")
        seconds = time.perf_counter() - t0
        for ic, lags in (("AIC", search.aic_lags), ("BIC", search.bic_lags)):
            rows.append(
                dict(
                    base,
                    method=prefix + ic,
                    **lag_metrics(lags, true),
                    seconds=seconds,
                    error="",
                    warnings="",
                )
            )
    return rows


# %% [markdown]
# ## Run the study
#
# One line per (design, n, replicate) is printed as it finishes; the per-fit results are saved as
# `results.csv`. With `BSDL_N_JOBS=k` the replicates run in k joblib worker processes (set
# `OMP_NUM_THREADS=1` too, so that the workers do not compete for cores).

# %%
CACHE = FitCache(NAME, HERE / f"{NAME}.py")


def task_key(design: str, n: int, rep: int) -> dict:
    """Everything that determines one fit's rows (for `BSDL_VIGNETTE_CACHE`)."""
    return dict(
        design=design,
        n=n,
        rep=rep,
        max_lag=CONFIG["max_lag"],
        n_restarts=SIM_RESTARTS,
        bsdl_kwargs=CONFIG["bsdl_kwargs"],
    )


t_start = time.perf_counter()
tasks = [(d, n, rep) for d in DESIGNS for n in CONFIG["ns"] for rep in range(CONFIG["n_reps"])]
rows = []
for task, task_rows in CACHE.map(run_one, tasks, task_key, N_JOBS):
    rows += task_rows
    design, n, rep = task
    by = {r["method"]: r for r in task_rows}
    print(
        f"[{time.perf_counter() - t_start:7.1f}s] {design:<12s} n={n:<5d} rep={rep:<2d} "
        + " ".join(f"{m.replace(' ', '-')}=[{by[m]['lags']}]" for m in METHODS)
        + f" bsdl fit={by['bsdl']['seconds']:.1f}s"
        + (f" ERROR {by['bsdl']['error']}" if by["bsdl"]["error"] else ""),
        flush=True,
    )
sim_seconds = time.perf_counter() - t_start
results = pd.DataFrame(rows)
results.to_csv(OUT / "results.csv", index=False)

# %% [markdown]
# ## Summary table
#
# Per design, n and method: the exact-recovery and correct-order rates ± their binomial standard
# error sqrt(p(1 - p) / R) over the R replicates, the order and the number of selected lags
# (mean ± sd), and the mean time per fit.


# %%
def _rate(values: pd.Series) -> str:
    p, r = float(values.mean()), len(values)
    return f"{p:.2f} ± {np.sqrt(p * (1 - p) / r):.2f}"


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    out = []
    for design in DESIGNS:
        for n in CONFIG["ns"]:
            for method in METHODS:
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
                        "mean order": mean_sd(sub["order"], 2),
                        "no. lags": mean_sd(sub["n_lags"], 2),
                        "mean time (s)": f"{sub['seconds'].mean():.3g}",
                        "failed fits": int((sub["error"] != "").sum()),
                    }
                )
    return pd.DataFrame(out)


table_md = show(summary_table(results))

# %% [markdown]
# How often each candidate lag is selected by bsdl and by global BIC (fraction of replicates);
# `*` marks the true lags of the design. For AIC and BIC the frequency of lag j is the fraction
# of replicates with order >= j, which the order columns above already summarise.


# %%
def lag_frequencies(results: pd.DataFrame) -> pd.DataFrame:
    out = []
    for design, true in DESIGNS.items():
        for n in CONFIG["ns"]:
            for method in ("bsdl", "global BIC"):
                sub = results[
                    (results.design == design) & (results.n == n) & (results.method == method)
                ]
                sets = selected_sets(sub["lags"])
                row = {"design": design, "n": n, "method": method}
                for j in range(1, CONFIG["max_lag"] + 1):
                    star = "*" if j in true else ""
                    row[f"lag {j}"] = f"{share_with(sets, j):.2f}{star}"
                out.append(row)
    return pd.DataFrame(out)


freq_md = show(lag_frequencies(results))

# %% [markdown]
# ## Real series
#
# The same methods on real series, where the true dynamics are unknown, so the table only
# shows what each method picks. `select_ar_order(y, max_lag, random_state=0)` returns all five
# in one call (`to_frame()`); its `inclusion_probabilities` are the largest posterior inclusion
# probability of each lag's input weights at the end of annealing.
#
# * **sunspots**: yearly sunspot numbers 1700-2008 (309 values), the classic nonlinear series
#   with an 11-year cycle; the usual linear fits use AR(2) to AR(9).
# * **nile**: annual flow of the Nile at Aswan 1871-1970 (100 values), with a level shift
#   around 1898.
# * **elnino**: monthly Niño 1+2 sea-surface temperature 1950-2010 (732 values); its yearly
#   seasonality (lag 12) lies beyond the candidate lags.
# * **GDP growth**: US quarterly real-GDP growth in percent 1959Q2-2009Q3 (202 values),
#   `load_macro("realgdp", "growth")`.
# * **WWWusage**: users connected to the Internet through a server, 100 consecutive minutes
#   (R's `datasets`; bundled, `load_wwwusage()`), a wandering level.
# * **BJsales**: Box & Jenkins' sales data, 150 values (R's `datasets`; bundled,
#   `load_bjsales()`), a slowly drifting level.

# %%
LOADERS = {
    "sunspots": load_sunspots,
    "nile": load_nile,
    "elnino": load_elnino,
    "GDP growth": lambda: load_macro("realgdp", transform="growth"),
    "WWWusage": load_wwwusage,
    "BJsales": load_bjsales,
}


def run_real(name: str) -> dict:
    y = LOADERS[name]()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = select_ar_order(
                y,
                max_lag=CONFIG["max_lag"],
                n_restarts=CONFIG["n_restarts"],
                random_state=0,
                **CONFIG["bsdl_kwargs"],
            )
            error = ""
        except Exception as exc:
            res, error = None, f"{type(exc).__name__}: {exc}"
    return dict(name=name, n=len(y), result=res, error=error, seconds=time.perf_counter() - t0)


t0 = time.perf_counter()
real = Parallel(n_jobs=N_JOBS)(delayed(run_real)(name) for name in CONFIG["real_series"])
real_seconds = time.perf_counter() - t0
real_rows = []
for item in real:
    res = item["result"]
    if res is None:
        frame = pd.DataFrame(
            {
                "lags": [f"failed: {item['error']}"] + ["NA"] * (len(FRAME_ROWS) - 1),
                "order": ["NA"] * len(FRAME_ROWS),
            },
            index=list(FRAME_ROWS),
        )
    else:
        frame = res.to_frame()
    for label, method in FRAME_ROWS.items():
        if label not in frame.index:  # the global search did not run (max_lag > 12)
            continue
        real_rows.append(
            {
                "series": item["name"],
                "n": item["n"],
                "method": method,
                "selected lags": frame.loc[label, "lags"],
                "order": frame.loc[label, "order"],
            }
        )
real_md = show(pd.DataFrame(real_rows))

# %% [markdown]
# With the default prior, restart i of `SparseRNN` uses the spike scale
# sigma0 = a / sqrt(n) with a = (1, 0.5, 0.7)[i % 3], and the restart with the smallest BIC is
# kept: the restarts choose the prior's spike scale as well as the starting point. The table
# lists every restart on the real series.

# %%
restart_rows = []
for item in real:
    if item["result"] is None:
        continue
    r = item["result"].restarts
    for i, row in enumerate(r.itertuples(index=False)):
        restart_rows.append(
            {
                "series": item["name"],
                "restart": i,
                "sigma0": f"{row.sigma0:.4f}",
                "weights": row.n_nonzero,
                "BIC": f"{row.bic:.1f}",
                "lags": row.lags or "none",
                "chosen": "yes" if row.chosen else "",
            }
        )
restarts_md = to_markdown(pd.DataFrame(restart_rows)) if restart_rows else "(no fit)"
print()
print(restarts_md)

# %% [markdown]
# ## Figures
#
# The exact-recovery and correct-order rates against n (log scale), with binomial
# standard-error bars, per design; the lag-selection frequencies at the largest n; and, for
# the real series, bsdl's posterior inclusion probability of each lag with the AIC and BIC
# orders and the global-BIC lags marked.

# %%
# horizontal offsets on the log axis
DODGE = {"bsdl": 0.92, "AIC": 0.96, "BIC": 1.0, "global AIC": 1.04, "global BIC": 1.08}
STYLE = method_styles(METHODS)


def plot_recovery() -> Path:
    fig, axes = panels(2, len(DESIGNS), 5, 7)
    for col, (design, true) in enumerate(DESIGNS.items()):
        for row, (key, label) in enumerate(
            [("exact", "exact lag set"), ("correct_order", "correct order")]
        ):
            ax = axes[row, col]
            for method in METHODS:
                sub = results[(results.design == design) & (results.method == method)]
                p = sub.groupby("n")[key].mean().reindex(CONFIG["ns"])
                r = sub.groupby("n")[key].size().reindex(CONFIG["ns"])
                se = np.sqrt(p * (1 - p) / r)
                dodged_errorbar(ax, p.index, p.values, se.values, method, DODGE, STYLE)
            log_n_axis(ax, CONFIG["ns"], "n (series length)")
            ax.set_xlim(min(CONFIG["ns"]) / 1.25, max(CONFIG["ns"]) * 1.25)
            ax.set_ylim(-0.05, 1.05)
            ax.set_ylabel(f"{label} rate")
            ax.set_title(f"{design}, true lags {set(true)}: {label}", fontsize=9)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"Lag selection, candidate lags 1..{CONFIG['max_lag']} "
        f"({CONFIG['n_reps']} replicates, ± binomial se)"
    )
    return save_figure(fig, OUT / "recovery.png")


def plot_frequencies() -> Path:
    n = max(CONFIG["ns"])
    lags = np.arange(1, CONFIG["max_lag"] + 1)
    fig, axes = panels(1, len(DESIGNS), 5, 3.6)
    width = 0.8 / len(METHODS)
    for ax, (design, true) in zip(axes[0], DESIGNS.items()):
        for k, method in enumerate(METHODS):
            sub = results[
                (results.design == design) & (results.n == n) & (results.method == method)
            ]
            sets = selected_sets(sub["lags"])
            share = [share_with(sets, j) for j in lags]
            offset = (k - (len(METHODS) - 1) / 2) * width
            ax.bar(lags + offset, share, width=width, label=method, color=f"C{k}")
        for j in true:
            ax.axvspan(j - 0.45, j + 0.45, color="0.9", zorder=0)
        ax.set_xticks(lags)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("lag (shaded: true lags)")
        ax.set_ylabel("selection frequency")
        ax.set_title(f"{design}, n = {n}")
    axes[0, 0].legend(fontsize=8)
    return save_figure(fig, OUT / "lag_frequency.png")


def plot_real() -> Path:
    ok = [item for item in real if item["result"] is not None]
    fig, axes = panels(1, max(1, len(ok)), 4, 3.4)
    for ax, item in zip(axes[0], ok):
        res = item["result"]
        q = res.inclusion_probabilities
        colors = ["C0" if j in set(res.selected_lags.tolist()) else "0.7" for j in q.index]
        ax.bar(q.index, q.values, color=colors)
        ax.axhline(0.5, color="k", lw=1, ls=":")
        for order, label, style, shift in (
            (res.aic_order, "AIC", dict(color="C1", ls="--"), 0.4),
            (res.bic_order, "BIC", dict(color="C2", ls="-."), 0.6),
        ):
            ax.axvline(order + shift, label=f"{label} order {order}", **style)
        if res.global_bic_lags is not None and res.global_bic_lags.size:
            ax.plot(
                res.global_bic_lags,
                np.full(res.global_bic_lags.size, 1.02),
                "v",
                color="C4",
                label="global BIC lags",
            )
        ax.set_xticks(q.index)
        ax.set_xlim(0.4, CONFIG["max_lag"] + 0.9)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("lag (blue: selected by bsdl)")
        ax.set_ylabel("inclusion probability")
        ax.set_title(f"{item['name']} (n = {item['n']})")
        ax.legend(fontsize=7)
    return save_figure(fig, OUT / "real_series.png")


figures = [plot_recovery(), plot_frequencies(), plot_real()]
total_seconds = time.perf_counter() - t_start

# %% [markdown]
# ## Report
#
# `report.md` collects the design, the tables and the figures.


# %%
def deviations() -> list[str]:
    notes = deviation_notes(
        "n = 300, 2 replicates, candidate lags 1..8, "
        f"{CONFIG['bsdl_kwargs'].get('n_epochs')} epochs and 1 restart for bsdl, sunspots only",
        CONFIG,
        FULL_NS,
        FULL_REPS,
        CACHE,
    )
    if not QUICK and SIM_RESTARTS != CONFIG["n_restarts"]:
        notes.append(
            f"Simulation study with n_restarts={SIM_RESTARTS} per fit instead of "
            f"{CONFIG['n_restarts']} (`BSDL_VIGNETTE_RESTARTS`), to fit the run on two cores; "
            f"the real series use n_restarts={CONFIG['n_restarts']}."
        )
    return notes


failures = results[results.error != ""]
lines = [
    "# Vignette 2: autoregressive lag selection (Zhang, Sun & Liang, NeurIPS 2023)",
    "",
    f"Mode: **{'quick' if QUICK else 'full'}**. Designs: **linear AR** = `make_ar(n)` "
    "(y_t = 0.5 y_{t-1} - 0.3 y_{t-3} + 0.2 y_{t-7} + e_t, true lags {1, 3, 7}), "
    "**nonlinear AR** = `make_nonlinear_ar(n)` (y_t = 0.5 y_{t-1} - 0.7 tanh(y_{t-2}) + "
    "0.3 sin(y_{t-5}) + e_t, true lags {1, 2, 5}) and **even AR** = `make_even_ar(n)` "
    "(y_t = 0.5 y_{t-1} + 2 (exp(-y_{t-3}^2) - 0.43) + e_t, true lags {1, 3}; lag 3 enters "
    "only through an even function, with almost no linear correlation), e_t ~ N(0, 1); "
    f"n in {CONFIG['ns']}, {CONFIG['n_reps']} replicates per n and design, candidate lags "
    f"1..{CONFIG['max_lag']}. Series of replicate r at length n: `default_rng([d, r, n])` "
    "(d = 0 linear, 1 nonlinear, 2 even); bsdl uses `random_state=r`.",
    "",
    "Methods: **bsdl** = `select_ar_order(y, max_lag="
    f"{CONFIG['max_lag']}, n_restarts={SIM_RESTARTS}, random_state=r"
    + kwargs_text(CONFIG["bsdl_kwargs"])
    + ")`, i.e. a `SparseRNN` with its default cell, hidden size, window and prior; "
    "**AIC** / **BIC** = `statsmodels.tsa.ar_model.ar_select_order(y, maxlag="
    f"{CONFIG['max_lag']}, ic='aic' / 'bic', trend='c')` (lags 1..p); **global AIC** / "
    "**global BIC** = the same with `glob=True` (the best of all "
    f"2^{CONFIG['max_lag']} lag subsets; `bsdl.baselines.ar_lag_search(y, "
    f"{CONFIG['max_lag']}, glob=True)`).",
    "",
    *note_lines(deviations()),
    "## Results",
    "",
    "Rates ± binomial standard error sqrt(p(1 - p) / R) over the R replicates; order and number "
    "of lags mean ± sd. Exact lag set = 1{S = T}; correct order = 1{max S = max T}. AIC and BIC "
    "select lags 1..p and so cannot recover a lag set with gaps: their exact-lag-set rate is 0 by "
    "construction, compare them on the correct order; global AIC and BIC search every subset. "
    "bsdl time includes the statsmodels searches inside `select_ar_order` (well under a "
    "second); the AIC and BIC rows of one search share its time. Failed fits: bsdl fits "
    "that raised; they "
    "count as misses in both rates and are left out of the order and lag-count means"
    + (" (listed under *Failed fits* below)." if not failures.empty else "."),
    "",
    table_md,
    "",
    "## How often bsdl and global BIC select each lag",
    "",
    "Fraction of replicates in which the method selects lag j (bsdl fits that raised count as "
    "selecting nothing); `*` marks the true lags.",
    "",
    freq_md,
    "",
    "## Real series",
    "",
    f"`select_ar_order(y, max_lag={CONFIG['max_lag']}, n_restarts={CONFIG['n_restarts']}, "
    "random_state=0"
    + kwargs_text(CONFIG["bsdl_kwargs"])
    + f")`; {real_seconds:.1f} s for all series. The true lags are unknown.",
    "",
    real_md,
    "",
    "Every restart of those fits (restart i uses sigma0 = a / sqrt(n), a = (1, 0.5, 0.7)[i % 3]; "
    "the smallest BIC is chosen):",
    "",
    restarts_md,
    "",
    *failed_fit_lines(failures),
]
write_report(
    OUT,
    lines,
    figures,
    total_seconds,
    time_detail=f" (simulations {sim_seconds / 60:.1f} min)",
    environment_extra=(f"statsmodels {statsmodels.__version__}",),
)
