# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Vignette 1: consistent variable selection (Sun, Song & Liang, JASA 2022)
#
# Sun, Song & Liang (2022), *Consistent sparse deep learning: theory and computation*, show that
# a neural network fitted under a mixture-Gaussian spike-and-slab prior selects the relevant
# inputs consistently, and that the prediction intervals built on the selected subnetwork are
# asymptotically valid. This vignette repeats their variable-selection simulation with the
# public `bsdl` API and compares three methods:
#
# * **bsdl**: `SparseMLPRegressor` with its defaults (hidden layers 16-8, tanh, prior annealing,
#   pruning at posterior inclusion probability 1/2, refit of the selected network). The selected
#   inputs are `selected_features_`; 95 % prediction intervals come from
#   `predict_interval(X, alpha=0.05)`.
# * **Lasso**: `sklearn.linear_model.LassoCV` (5-fold CV); selected = non-zero coefficients.
# * **dense MLP**: `sklearn.neural_network.MLPRegressor` with the same hidden sizes (16, 8) and
#   activation, early stopping, no sparsity. It selects nothing, so its selection metrics are NA;
#   it is the prediction benchmark that ignores sparsity.
#
# **Design.** `make_sparse_regression`: p equicorrelated covariates (pairwise correlation 0.5),
# of which only the first five enter the response,
#
# $$y = \frac{5 x_2}{1 + x_1^2} + 5 \sin(x_3 x_4) + 2 x_5 + \varepsilon, \qquad
# \varepsilon \sim N(0, 1),$$
#
# i.e. true inputs 0..4 (0-based). Full mode: p = 1000, n in {500, 1000, 2000, 5000, 10000}, 10
# replicates per n, test MSE and interval coverage on 2000 fresh points. Quick mode
# (`BSDL_QUICK=1`): p = 50, n in {500, 1000}, 2 replicates, 60 training epochs for bsdl and 500
# test points; it only checks that the pipeline runs.
#
# **Metrics** per fit, with S the selected and T = {0, ..., 4} the true inputs:
#
# * false-selection rate FSR = |S \ T| / |S| (0 when nothing is selected);
# * negative-selection rate NSR = |T \ S| / |T|;
# * exact recovery: S = T;
# * test MSE on fresh data (the noise variance 1 is the floor);
# * bsdl only: empirical coverage and mean width of the 95 % prediction intervals;
# * wall-clock fit time in seconds.
#
# Consistency predicts FSR, NSR -> 0 and exact recovery -> 1 as n grows, and coverage -> 0.95.

# %%
from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import (  # noqa: E402
    announce,
    apply_grid_overrides,
    deviation_notes,
    dodged_errorbar,
    kwargs_text,
    log_n_axis,
    mean_sd,
    method_styles,
    note_lines,
    out_dir,
    panels,
    quick_mode,
    save_figure,
    selected_sets,
    share_with,
    show,
    write_report,
)
from sklearn.compose import TransformedTargetRegressor  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LassoCV  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from bsdl import SparseMLPRegressor  # noqa: E402
from bsdl.datasets import make_sparse_regression  # noqa: E402

NAME = "01_variable_selection"
QUICK = quick_mode()

if QUICK:
    CONFIG = dict(p=50, ns=[500, 1000], n_reps=2, n_test=500, bsdl_kwargs=dict(n_epochs=60))
else:
    CONFIG = dict(p=1000, ns=[500, 1000, 2000, 5000, 10000], n_reps=10, n_test=2000, bsdl_kwargs={})
# The full design of the paper. A reduced run (BSDL_VIGNETTE_NS="500,1000,2000,5000",
# BSDL_VIGNETTE_REPS=5) is stated as such in report.md.
PAPER_NS = [500, 1000, 2000, 5000, 10000]
apply_grid_overrides(CONFIG)
TRUE = np.arange(5)  # inputs 0..4 carry the signal
HIDDEN = (16, 8)
ALPHA = 0.05
METHODS = ["bsdl", "Lasso", "dense MLP"]


OUT = out_dir(NAME, HERE)
announce(OUT, CONFIG)

# %% [markdown]
# ## Data and seeds
#
# Every (n, replicate) pair gets its own fixed seeds: the training set is drawn with
# `numpy.random.default_rng([rep, n, 0])` and the test set with `default_rng([rep, n, 1])`, and
# all three methods see the same data. The estimators get `random_state=rep`. Re-running the
# vignette therefore reproduces every number (up to floating-point non-determinism of threaded
# BLAS).


# %%
def simulate(n: int, rep: int, p: int, n_test: int):
    X, y = make_sparse_regression(
        n, p, correlation=0.5, random_state=np.random.default_rng([rep, n, 0])
    )
    X_test, y_test = make_sparse_regression(
        n_test, p, correlation=0.5, random_state=np.random.default_rng([rep, n, 1])
    )
    return X, y, X_test, y_test


def selection_metrics(selected) -> dict:
    s, t = set(np.asarray(selected).tolist()), set(TRUE.tolist())
    return dict(
        n_selected=len(s),
        FSR=len(s - t) / len(s) if s else 0.0,
        NSR=len(t - s) / len(t),
        exact=float(s == t),
    )


NA_SELECTION = dict(n_selected=np.nan, FSR=np.nan, NSR=np.nan, exact=np.nan)
NA_INTERVAL = dict(coverage=np.nan, width=np.nan)

# %% [markdown]
# ## The three fits
#
# Each function fits one method on one training set and returns its metrics. Lasso uses
# `selection="random"` (random coordinate order), which converges much faster than cyclic
# coordinate descent on this strongly correlated design and selects the same variables. The dense
# MLP standardises inputs and response, as `SparseMLPRegressor` does internally.


# %%
def fit_bsdl(X, y, X_test, y_test, rep: int) -> dict:
    t0 = time.perf_counter()
    model = SparseMLPRegressor(random_state=rep, **CONFIG["bsdl_kwargs"]).fit(X, y)
    seconds = time.perf_counter() - t0
    pi = model.predict_interval(X_test, alpha=ALPHA)
    return dict(
        **selection_metrics(model.selected_features_),
        MSE=float(np.mean((model.predict(X_test) - y_test) ** 2)),
        coverage=pi.coverage(y_test),
        width=float(np.mean(pi.width)),
        sigma=float(model.sigma_),
        seconds=seconds,
        selected=" ".join(map(str, model.selected_features_)),
    )


def fit_lasso(X, y, X_test, y_test, rep: int) -> dict:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LassoCV(cv=5, selection="random", random_state=rep).fit(X, y)
    seconds = time.perf_counter() - t0
    selected = np.flatnonzero(model.coef_)
    return dict(
        **selection_metrics(selected),
        MSE=float(np.mean((model.predict(X_test) - y_test) ** 2)),
        **NA_INTERVAL,
        sigma=np.nan,
        seconds=seconds,
        selected=" ".join(map(str, selected)),
    )


def fit_dense(X, y, X_test, y_test, rep: int) -> dict:
    mlp = MLPRegressor(
        hidden_layer_sizes=HIDDEN,
        activation="tanh",
        early_stopping=True,
        max_iter=500,
        random_state=rep,
    )
    model = make_pipeline(
        StandardScaler(), TransformedTargetRegressor(regressor=mlp, transformer=StandardScaler())
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    seconds = time.perf_counter() - t0
    return dict(
        **NA_SELECTION,
        MSE=float(np.mean((model.predict(X_test) - y_test) ** 2)),
        **NA_INTERVAL,
        sigma=np.nan,
        seconds=seconds,
        selected="",
    )


FITTERS = {"bsdl": fit_bsdl, "Lasso": fit_lasso, "dense MLP": fit_dense}

# %% [markdown]
# ## Run the study
#
# One line per fit is printed as it finishes; the per-fit results are also saved as
# `results.csv`.

# %%
rows = []
t_start = time.perf_counter()
for n in CONFIG["ns"]:
    for rep in range(CONFIG["n_reps"]):
        X, y, X_test, y_test = simulate(n, rep, CONFIG["p"], CONFIG["n_test"])
        for method in METHODS:
            res = FITTERS[method](X, y, X_test, y_test, rep)
            rows.append(dict(n=n, rep=rep, method=method, **res))
            print(
                f"[{time.perf_counter() - t_start:7.1f}s] n={n:<6d} rep={rep:<2d} {method:<9s} "
                f"FSR={res['FSR']:.3f} NSR={res['NSR']:.3f} MSE={res['MSE']:.3f} "
                f"cov={res['coverage']:.3f} fit={res['seconds']:.1f}s "
                f"selected=[{res['selected'][:60]}]",
                flush=True,
            )
total_seconds = time.perf_counter() - t_start
results = pd.DataFrame(rows)
results.to_csv(OUT / "results.csv", index=False)

# %% [markdown]
# ## Summary table
#
# Mean ± standard deviation over replicates, per n and method. "NA": the method does not produce
# that quantity (a dense MLP selects no inputs; only bsdl gives prediction intervals).

# %%
METRICS = [
    ("FSR", "FSR", 3),
    ("NSR", "NSR", 3),
    ("exact", "exact recovery", 2),
    ("n_selected", "no. selected", 1),
    ("MSE", "test MSE", 3),
    ("coverage", "95% PI coverage", 3),
    ("width", "95% PI width", 2),
    ("seconds", "fit seconds", 1),
]


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    out = []
    for n in CONFIG["ns"]:
        for method in METHODS:
            sub = results[(results.n == n) & (results.method == method)]
            row = {"n": n, "method": method}
            row.update({label: mean_sd(sub[key], d) for key, label, d in METRICS})
            out.append(row)
    return pd.DataFrame(out)


table_md = show(summary_table(results))

# %% [markdown]
# How often each true input is selected (fraction of replicates), and the mean number of
# selected noise inputs, for the two methods that select.


# %%
def selection_frequencies(results: pd.DataFrame) -> pd.DataFrame:
    out = []
    for n in CONFIG["ns"]:
        for method in ("bsdl", "Lasso"):
            sub = results[(results.n == n) & (results.method == method)]
            sets = selected_sets(sub["selected"])
            row = {"n": n, "method": method}
            for j in TRUE:
                row[f"x{j}"] = f"{share_with(sets, j):.2f}"
            row["noise inputs"] = f"{np.mean([len(s - set(TRUE.tolist())) for s in sets]):.1f}"
            out.append(row)
    return pd.DataFrame(out)


freq_md = show(selection_frequencies(results))

# %% [markdown]
# ## Figures
#
# Selection error rates and exact recovery against n (log scale), the empirical coverage of the
# 95 % prediction intervals with the band in which the coverage of `n_test` independent points
# falls with probability 0.95 if the true coverage is exactly 0.95, and test MSE against n (the
# dashed line is the noise variance, the best achievable MSE).

# %%
DODGE = {"bsdl": 0.97, "Lasso": 1.0, "dense MLP": 1.03}  # horizontal offsets on the log axis
STYLE = method_styles(METHODS)


def _mean_sd(key: str, method: str):
    sub = results[results.method == method].groupby("n")[key]
    return sub.mean().reindex(CONFIG["ns"]), sub.std(ddof=1).fillna(0.0).reindex(CONFIG["ns"])


def plot_selection() -> Path:
    fig, axes = panels(1, 3, 4, 3.6)
    for ax, (key, label) in zip(
        axes[0],
        [
            ("FSR", "false-selection rate"),
            ("NSR", "negative-selection rate"),
            ("exact", "exact recovery rate"),
        ],
    ):
        for method in ("bsdl", "Lasso"):
            mean, sd = _mean_sd(key, method)
            dodged_errorbar(ax, mean.index, mean.values, sd.values, method, DODGE, STYLE)
        log_n_axis(ax, CONFIG["ns"], "n (training size)")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(label)
    axes[0, 0].legend(title="dense MLP: NA", fontsize=8, title_fontsize=8)
    fig.suptitle(
        f"Variable selection, p = {CONFIG['p']} (mean ± sd over {CONFIG['n_reps']} replicates)"
    )
    return save_figure(fig, OUT / "selection.png")


def plot_coverage() -> Path:
    m, level = CONFIG["n_test"], 1 - ALPHA
    half = 1.959964 * np.sqrt(level * (1 - level) / m)
    sub = results[results.method == "bsdl"]
    fig, axes = panels(1, 2, 5, 3.6)
    ax = axes[0, 0]
    ax.axhspan(level - half, level + half, color="0.85", label=f"binomial 95% band (m={m})")
    ax.axhline(level, color="k", lw=1, ls="--")
    jitter = np.random.default_rng(0).uniform(-0.06, 0.06, len(sub))
    ax.scatter(
        sub["n"] * np.exp(jitter), sub["coverage"], s=12, alpha=0.6, color="C0", label="replicates"
    )
    mean, _ = _mean_sd("coverage", "bsdl")
    ax.plot(mean.index, mean.values, label="mean", **STYLE["bsdl"])
    log_n_axis(ax, CONFIG["ns"], "n (training size)")
    ax.set_ylabel("empirical coverage")
    ax.set_title("bsdl 95% prediction intervals: coverage")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    mean, sd = _mean_sd("width", "bsdl")
    ax.errorbar(mean.index, mean.values, yerr=sd.values, capsize=3, **STYLE["bsdl"])
    ax.axhline(2 * 1.959964, color="k", lw=1, ls="--", label="oracle width (noise sd 1)")
    log_n_axis(ax, CONFIG["ns"], "n (training size)")
    ax.set_ylabel("mean interval width")
    ax.set_title("bsdl 95% prediction intervals: width")
    ax.legend(fontsize=8)
    return save_figure(fig, OUT / "coverage.png")


def plot_mse() -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 3.8), constrained_layout=True)
    for method in METHODS:
        mean, sd = _mean_sd("MSE", method)
        dodged_errorbar(ax, mean.index, mean.values, sd.values, method, DODGE, STYLE)
    ax.axhline(1.0, color="k", lw=1, ls="--", label="noise variance")
    ax.set_yscale("log")
    log_n_axis(ax, CONFIG["ns"], "n (training size)")
    ax.set_ylabel(f"test MSE ({CONFIG['n_test']} points)")
    ax.set_title(f"Prediction error, p = {CONFIG['p']}")
    ax.legend(fontsize=8)
    return save_figure(fig, OUT / "mse.png")


figures = [plot_selection(), plot_coverage(), plot_mse()]

# %% [markdown]
# ## Report
#
# `report.md` collects the design, the tables and the figures.


# %%
def deviations() -> list[str]:
    return deviation_notes(
        f"p = 50, 2 replicates, 60 epochs for bsdl and {CONFIG['n_test']} test points",
        CONFIG,
        PAPER_NS,
        10,
    )


band = 1.959964 * np.sqrt(0.95 * 0.05 / CONFIG["n_test"])
lines = [
    "# Vignette 1: variable selection (Sun, Song & Liang, JASA 2022)",
    "",
    f"Mode: **{'quick' if QUICK else 'full'}**. Design: `make_sparse_regression`, "
    "true inputs 0..4, pairwise correlation 0.5, noise sd 1, "
    f"p = {CONFIG['p']}, n in {CONFIG['ns']}, "
    f"{CONFIG['n_reps']} replicates per n, {CONFIG['n_test']} fresh test points per replicate. "
    "Training data of replicate r at size n: `default_rng([r, n, 0])`, test data "
    "`default_rng([r, n, 1])`; estimators use `random_state=r`.",
    "",
    "Methods: **bsdl** = `SparseMLPRegressor(random_state=r"
    + kwargs_text(CONFIG["bsdl_kwargs"])
    + ")` (defaults: hidden 16-8, tanh); **Lasso** = `LassoCV(cv=5, selection='random')`, "
    "selected = non-zero coefficients; **dense MLP** = `MLPRegressor(hidden_layer_sizes=(16, 8), "
    "activation='tanh', early_stopping=True)` on standardised inputs and response (selects "
    "nothing: NA).",
    "",
    *note_lines(deviations()),
    "## Results (mean ± sd over replicates)",
    "",
    "FSR = |S \\ T| / |S| (0 if S is empty), NSR = |T \\ S| / |T|, exact recovery = 1{S = T}; "
    "test MSE has floor 1 (the noise variance). Coverage and width are for the 95 % prediction "
    f"intervals of bsdl; with {CONFIG['n_test']} test points the empirical coverage of exactly "
    f"calibrated intervals lies in 0.95 ± {band:.4f} with probability 0.95 (binomial band).",
    "",
    table_md,
    "",
    "## How often each true input is selected",
    "",
    "Fraction of replicates in which each true input is selected, and the mean number of "
    "selected noise inputs.",
    "",
    freq_md,
    "",
]
write_report(OUT, lines, figures, total_seconds)
