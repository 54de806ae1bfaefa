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
# public `bsdl` API and compares five methods:
#
# * **bsdl**: `SparseMLPRegressor` with its defaults (hidden layers 16-8, tanh, prior annealing,
#   pruning at posterior inclusion probability 1/2, a linear path beside the network chosen by
#   extended BIC after annealing, refit of the selected network and linear path; the network
#   alone is kept instead when its BIC is smaller). The selected inputs are
#   `selected_features_` (through the network or the linear path); 95 % prediction intervals
#   come from `predict_interval(X, alpha=0.05)`.
# * **Lasso**: `sklearn.linear_model.LassoCV` (5-fold CV); selected = non-zero coefficients.
# * **dense MLP**: `sklearn.neural_network.MLPRegressor` with the same hidden sizes (16, 8) and
#   activation, early stopping, no sparsity. It selects nothing, so its selection metrics are NA;
#   it is the prediction benchmark that ignores sparsity.
# * **LassoNet**: `lassonet.LassoNetRegressorCV` (Lemhadri et al., JMLR 2021), a network with a
#   hierarchical lasso on a linear skip connection, with the same hidden sizes, its lambda path
#   chosen by 5-fold CV, on standardised inputs and response; selected = `best_selected_`.
# * **laplace-torch**: a dense MLP with the same hidden sizes and activation (Adam, early
#   stopping) and laplace-torch's Laplace approximation over all its weights, prior precision
#   and noise sd fitted by the marginal likelihood, GLM predictive: the strongest off-the-shelf
#   Bayesian-interval baseline for a dense network. It selects nothing (NA).
#
# The last two are optional packages (`pip install -e ".[bench]"`, then
# `pip install --no-deps laplace-torch backpack-for-pytorch curvlinops-for-pytorch`: see
# setup.cfg); a missing one is skipped with a note in the output and the report.
# `vignettes/_mlp_baselines.py` holds their fitters.
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
# test points, and one fit each of LassoNet (3 folds, path multiplier 1.5, few iterations) and
# laplace-torch (20 epochs, 50 hyperparameter steps) at n = 500; it only checks that the
# pipeline runs.
#
# **Adjustable** (each stated in report.md when used): `BSDL_VIGNETTE_NS` (comma-separated n)
# and `BSDL_VIGNETTE_REPS` (replicates per n) for every method; `BSDL_VIGNETTE_BASELINE_NS` and
# `BSDL_VIGNETTE_BASELINE_REPS` restrict LassoNet and laplace-torch, by far the slowest fits at
# p = 1000, to those n and to the first replicates (same data and seeds as the other methods);
# `BSDL_VIGNETTE_LASSONET_PATH` sets LassoNet's `path_multiplier` (default: LassoNet's 1.02).
#
# **Metrics** per fit, with S the selected and T = {0, ..., 4} the true inputs:
#
# * false-selection rate FSR = |S \ T| / |S| (0 when nothing is selected);
# * negative-selection rate NSR = |T \ S| / |T|;
# * exact recovery: S = T;
# * test MSE on fresh data (the noise variance 1 is the floor);
# * bsdl and laplace-torch: empirical coverage and mean width of the 95 % prediction intervals;
# * wall-clock fit time in seconds.
#
# Consistency predicts FSR, NSR -> 0 and exact recovery -> 1 as n grows, and coverage -> 0.95.

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

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import (  # noqa: E402
    announce,
    apply_grid_overrides,
    deviation_notes,
    dodged_errorbar,
    env_list,
    git_commit,
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
from _mlp_baselines import fit_laplace, fit_lassonet, methods_text, missing  # noqa: E402
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
    CONFIG = dict(
        p=50,
        ns=[500, 1000],
        n_reps=2,
        n_test=500,
        bsdl_kwargs=dict(n_epochs=60),
        lassonet_kwargs=dict(cv=3, path_multiplier=1.5, n_iters=(50, 10), patience=(5, 3)),
        laplace_epochs=20,
        laplace_hyper_steps=50,
    )
else:
    CONFIG = dict(
        p=1000,
        ns=[500, 1000, 2000, 5000, 10000],
        n_reps=10,
        n_test=2000,
        bsdl_kwargs={},
        lassonet_kwargs={},
        laplace_epochs=500,
        laplace_hyper_steps=200,
    )
# The full design of the paper. A reduced run (BSDL_VIGNETTE_NS="500,1000,2000,5000",
# BSDL_VIGNETTE_REPS=5) is stated as such in report.md.
PAPER_NS = [500, 1000, 2000, 5000, 10000]
apply_grid_overrides(CONFIG)
CONFIG["baseline_ns"] = [] if QUICK else env_list("BSDL_VIGNETTE_BASELINE_NS", CONFIG["ns"])
CONFIG["baseline_reps"] = int(os.environ.get("BSDL_VIGNETTE_BASELINE_REPS") or CONFIG["n_reps"])
if QUICK:  # one fit each of the slow baselines
    CONFIG["baseline_ns"], CONFIG["baseline_reps"] = CONFIG["ns"][:1], 1
if os.environ.get("BSDL_VIGNETTE_LASSONET_PATH") and not QUICK:
    CONFIG["lassonet_kwargs"]["path_multiplier"] = float(os.environ["BSDL_VIGNETTE_LASSONET_PATH"])
TRUE = np.arange(5)  # inputs 0..4 carry the signal
HIDDEN = (16, 8)
ALPHA = 0.05
SLOW = ["LassoNet", "laplace-torch"]  # optional packages; run at baseline_ns/baseline_reps
MISSING = missing()
for _method, _package in MISSING.items():
    print(f"note: {_method} skipped: the package {_package!r} is not installed (bench extra)")
METHODS = ["bsdl", "Lasso", "dense MLP"] + [m for m in SLOW if m not in MISSING]
SELECTORS = [m for m in ("bsdl", "Lasso", "LassoNet") if m in METHODS]


OUT = out_dir(NAME, HERE)
announce(OUT, CONFIG)
COMMIT = git_commit(HERE)

# %% [markdown]
# ## Data and seeds
#
# Every (n, replicate) pair gets its own fixed seeds: the training set is drawn with
# `numpy.random.default_rng([rep, n, 0])` and the test set with `default_rng([rep, n, 1])`, and
# all three methods see the same data. The estimators get `random_state=rep`. Re-running the
# vignette therefore reproduces every number (up to floating-point non-determinism of threaded
# BLAS). LassoNet and laplace-torch seed torch with `rep` inside `torch.random.fork_rng`.


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


def fit_lassonet_row(X, y, X_test, y_test, rep: int) -> dict:
    res = fit_lassonet(X, y, X_test, y_test, rep, HIDDEN, CONFIG["lassonet_kwargs"])
    return dict(
        **selection_metrics(res["selected"]),
        MSE=res["MSE"],
        **NA_INTERVAL,
        sigma=np.nan,
        seconds=res["seconds"],
        selected=" ".join(map(str, res["selected"])),
        detail=res["detail"],
    )


def fit_laplace_row(X, y, X_test, y_test, rep: int) -> dict:
    res = fit_laplace(
        X,
        y,
        X_test,
        y_test,
        rep,
        HIDDEN,
        "tanh",
        ALPHA,
        max_epochs=CONFIG["laplace_epochs"],
        hyper_steps=CONFIG["laplace_hyper_steps"],
    )
    return dict(**NA_SELECTION, **res, selected="")


FITTERS = {
    "bsdl": fit_bsdl,
    "Lasso": fit_lasso,
    "dense MLP": fit_dense,
    "LassoNet": fit_lassonet_row,
    "laplace-torch": fit_laplace_row,
}


def runs(method: str, n: int, rep: int) -> bool:
    """LassoNet and laplace-torch only at the baseline grid (all of it by default)."""
    if method not in SLOW:
        return True
    return n in CONFIG["baseline_ns"] and rep < CONFIG["baseline_reps"]


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
            if not runs(method, n, rep):
                continue
            res = FITTERS[method](X, y, X_test, y_test, rep)
            rows.append(dict(n=n, rep=rep, method=method, **res))
            print(
                f"[{time.perf_counter() - t_start:7.1f}s] n={n:<6d} rep={rep:<2d} {method:<13s} "
                f"FSR={res['FSR']:.3f} NSR={res['NSR']:.3f} MSE={res['MSE']:.3f} "
                f"cov={res['coverage']:.3f} fit={res['seconds']:.1f}s "
                f"selected=[{res['selected'][:60]}]",
                flush=True,
            )
    pd.DataFrame(rows).to_csv(OUT / "results.csv", index=False)  # partial results so far
total_seconds = time.perf_counter() - t_start
results = pd.DataFrame(rows)
results.to_csv(OUT / "results.csv", index=False)

# %% [markdown]
# ## Summary table
#
# Mean ± standard deviation over replicates, per n and method; `fits` is the number of
# replicates (LassoNet and laplace-torch may run on fewer, see above). "NA": the method does not
# produce that quantity (the dense MLP and laplace-torch select no inputs; only bsdl and
# laplace-torch give prediction intervals).

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
            if sub.empty:
                continue
            row = {"n": n, "method": method}
            row.update({label: mean_sd(sub[key], d) for key, label, d in METRICS})
            row["fits"] = len(sub)
            out.append(row)
    return pd.DataFrame(out)


table_md = show(summary_table(results))

# %% [markdown]
# How often each true input is selected (fraction of replicates), and the mean number of
# selected noise inputs, for the methods that select.


# %%
def selection_frequencies(results: pd.DataFrame) -> pd.DataFrame:
    out = []
    for n in CONFIG["ns"]:
        for method in SELECTORS:
            sub = results[(results.n == n) & (results.method == method)]
            if sub.empty:
                continue
            sets = selected_sets(sub["selected"].fillna(""))
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
# 95 % prediction intervals (bsdl; laplace-torch where it ran) with the band in which the
# coverage of `n_test` independent points falls with probability 0.95 if the true coverage is
# exactly 0.95, and test MSE against n (the dashed line is the noise variance, the best
# achievable MSE).

# %%
# horizontal offsets on the log axis
DODGE = {"bsdl": 0.94, "Lasso": 0.97, "dense MLP": 1.0, "LassoNet": 1.03, "laplace-torch": 1.06}
STYLE = method_styles(["bsdl", "Lasso", "dense MLP", "LassoNet", "laplace-torch"])
INTERVALS = [m for m in ("bsdl", "laplace-torch") if m in METHODS]


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
        for method in SELECTORS:
            mean, sd = _mean_sd(key, method)
            dodged_errorbar(ax, mean.index, mean.values, sd.values, method, DODGE, STYLE)
        log_n_axis(ax, CONFIG["ns"], "n (training size)")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(label)
    axes[0, 0].legend(title="dense MLP, laplace-torch: NA", fontsize=8, title_fontsize=8)
    fig.suptitle(
        f"Variable selection, p = {CONFIG['p']} (mean ± sd over {CONFIG['n_reps']} replicates)"
    )
    return save_figure(fig, OUT / "selection.png")


def plot_coverage() -> Path:
    m, level = CONFIG["n_test"], 1 - ALPHA
    half = 1.959964 * np.sqrt(level * (1 - level) / m)
    fig, axes = panels(1, 2, 5, 3.6)
    ax = axes[0, 0]
    ax.axhspan(level - half, level + half, color="0.85", label=f"binomial 95% band (m={m})")
    ax.axhline(level, color="k", lw=1, ls="--")
    rng = np.random.default_rng(0)
    for method in INTERVALS:
        sub = results[results.method == method]
        jitter = rng.uniform(-0.04, 0.04, len(sub))
        x = sub["n"] * DODGE[method] * np.exp(jitter)
        ax.scatter(x, sub["coverage"], s=10, alpha=0.4, color=STYLE[method]["color"])
        mean, _ = _mean_sd("coverage", method)
        ax.plot(mean.index * DODGE[method], mean.values, label=f"{method} (mean)", **STYLE[method])
    log_n_axis(ax, CONFIG["ns"], "n (training size)")
    ax.set_ylabel("empirical coverage")
    ax.set_title("95% prediction intervals: coverage")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    for method in INTERVALS:
        mean, sd = _mean_sd("width", method)
        dodged_errorbar(ax, mean.index, mean.values, sd.values, method, DODGE, STYLE)
    ax.axhline(2 * 1.959964, color="k", lw=1, ls="--", label="oracle width (noise sd 1)")
    log_n_axis(ax, CONFIG["ns"], "n (training size)")
    ax.set_ylabel("mean interval width")
    ax.set_title("95% prediction intervals: width")
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
    notes = deviation_notes(
        f"p = 50, 2 replicates, 60 epochs for bsdl and {CONFIG['n_test']} test points; "
        "short LassoNet path and laplace-torch training",
        CONFIG,
        PAPER_NS,
        10,
    )
    for method, package in MISSING.items():
        notes.append(f"{method} not run: the package `{package}` is not installed (bench extra).")
    ran = [m for m in SLOW if m in METHODS]
    if ran and not QUICK:
        if CONFIG["baseline_ns"] != CONFIG["ns"] or CONFIG["baseline_reps"] < CONFIG["n_reps"]:
            notes.append(
                f"{' and '.join(ran)} ran only at n in {CONFIG['baseline_ns']}, replicates "
                f"0..{CONFIG['baseline_reps'] - 1} (`BSDL_VIGNETTE_BASELINE_NS`, "
                "`BSDL_VIGNETTE_BASELINE_REPS`): same data and seeds as the other methods "
                "there; the `fits` column counts them."
            )
        if CONFIG["lassonet_kwargs"]:
            notes.append(
                "LassoNet settings changed from its defaults: "
                f"`{kwargs_text(CONFIG['lassonet_kwargs']).lstrip(', ')}` "
                "(`BSDL_VIGNETTE_LASSONET_PATH`)."
            )
    return notes


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
    + ")` (defaults: hidden 16-8, tanh, `skip=True`: a linear path chosen by extended BIC); "
    "**Lasso** = `LassoCV(cv=5, selection='random')`, "
    "selected = non-zero coefficients; **dense MLP** = `MLPRegressor(hidden_layer_sizes=(16, 8), "
    "activation='tanh', early_stopping=True)` on standardised inputs and response (selects "
    "nothing: NA); " + methods_text(CONFIG, METHODS),
    "",
    f"Code: commit `{COMMIT}`.",
    "",
    *note_lines(deviations()),
    "## Results (mean ± sd over replicates)",
    "",
    "FSR = |S \\ T| / |S| (0 if S is empty), NSR = |T \\ S| / |T|, exact recovery = 1{S = T}; "
    "test MSE has floor 1 (the noise variance). Coverage and width are for the 95 % prediction "
    f"intervals of bsdl and laplace-torch; with {CONFIG['n_test']} test points the empirical "
    f"coverage of exactly calibrated intervals lies in 0.95 ± {band:.4f} with probability "
    "0.95 (binomial band).",
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
