# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Vignette 5: local traps, prior annealing and calibration (Sun, Xiong & Liang, NeurIPS 2021)
#
# Sun, Xiong & Liang (2021), *Learning sparse deep neural networks with theoretical
# guarantees via prior annealing*, argue that training a network under the spike-and-slab
# prior *from the first step* gets caught in local traps: a weight that starts outside the
# narrow spike is held in the slab and never pruned, so the sparse structure is missed.
# Annealing the prior (dense warm-up, the prior weight ramped in, the spike narrowed
# gradually) avoids this, and annealing with SGHMC (noise at a temperature that cools)
# escapes traps that plain gradient steps cannot. This vignette checks both claims with the
# public API and then asks whether posterior sampling on the selected network
# (`method="sghmc"`) gives better-calibrated intervals and probabilities than the
# asymptotic (delta-method) ones.
#
# **Designs** (Sun, Song & Liang, JASA 2022, `bsdl.datasets`):
#
# * **regression**: `make_sparse_regression(n, p)`,
#   $y = 5 x_2 / (1 + x_1^2) + 5 \sin(x_3 x_4) + 2 x_5 + \varepsilon$, $\varepsilon \sim
#   N(0, 1)$, true inputs 0..4 (0-based), pairwise correlation 0.5;
# * **classification**: `make_sparse_classification(n, p)`, label
#   $1\{e^{x_1} + x_2^2 + 5 \sin(x_3 x_4) - 3 > 0\}$, balanced, true inputs 0..3.
#
# Full mode uses p = 100 (the JASA paper uses p = 1000; vignette 01 runs that size. With 100
# candidate inputs the four methods below can be told apart at n = 1000 within the time
# budget of a shared two-core machine).
#
# **Part A, local traps** (n = 1000, 2000 test points, 10 seeds per design). Every method
# fits `SparseMLPRegressor` / `SparseMLPClassifier` with the default network (16, 8), prior
# and number of steps; only the training schedule and kernel differ:
#
# * **(a) SGD, prior from start**: `optimizer="sgd", lr=0.01,
#   annealing=ConstantSchedule()` (the prior at full weight, final spike width, from the
#   first step; heavy-ball momentum 0.9);
# * **(b) annealed Adam (default)**: the estimator's defaults (`PriorAnnealing()`, Adam);
# * **(b') annealed SGD**: `optimizer="sgd", lr=0.01` with the default `PriorAnnealing()`
#   (the paper's prior-annealed SGD);
# * **(c) annealed SGHMC**: `optimizer="sghmc", lr=0.01,
#   annealing=PriorAnnealing(temperature=1.0)` (SGHMC at temperature 1 during the ramp and
#   the annealing, cooling as 1 / (1 + t - T3) afterwards).
#
# lr = 0.01 and the temperature 1 were set once, before the study, from a pilot on two
# replicates, and not tuned further. All four then prune at inclusion probability 1/2 and
# refit with the mask fixed. Metrics: exact recovery of the true inputs (selected set =
# true set), the number of selected inputs, the BIC of the selected fit (the energy the
# run reached), test MSE (regression; the noise floor is 1) or test error rate
# (classification), and calibration: coverage and width of the 95 % asymptotic prediction
# intervals (regression), expected calibration error (ECE, 10 bins), negative
# log-likelihood and Brier score (classification). Fit (b) is also run with
# `method="sghmc"` (4 chains, 200 draws, thin 5, after the same MAP fit): its posterior
# predictive intervals and posterior-averaged probabilities appear as **(b) + posterior**.
#
# **Part B, posterior vs asymptotic intervals** (regression design, p = 100,
# n in {500, 1000, 2000, 5000}, 10 replicates, 2000 test points). One
# `SparseMLPRegressor(method="sghmc")` fit per replicate; on the same fit, the asymptotic 95 %
# prediction intervals (`predict_interval(X)`: delta method on the selected weights,
# Student-t) and the posterior-predictive ones (`predict_interval(X, kind="posterior")`:
# quantiles of f_theta(x) + sigma eps over the draws). Coverage (with its binomial standard
# error) and mean width, and the coverage curve over nominal levels 0.5 .. 0.99
# (`bsdl.metrics.coverage_curve`).
#
# Quick mode (`BSDL_QUICK=1`): p = 20, n = 300 (part A) and n = 300 (part B), 2 seeds and
# 1 replicate, 100 epochs, 2 chains of 30 draws; it only checks that the pipeline runs.

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
from _common import (  # noqa: E402
    announce,
    apply_grid_overrides,
    bsdl_warning_names,
    deviation_notes,
    git_commit,
    log_n_axis,
    mean_sd,
    n_jobs,
    note_lines,
    out_dir,
    panels,
    quick_mode,
    save_figure,
    show,
    write_report,
)
from joblib import Parallel, delayed  # noqa: E402

from bsdl import SparseMLPClassifier, SparseMLPRegressor  # noqa: E402
from bsdl.datasets import make_sparse_classification, make_sparse_regression  # noqa: E402
from bsdl.inference import ConstantSchedule, PriorAnnealing  # noqa: E402
from bsdl.metrics import (  # noqa: E402
    brier_score,
    coverage_curve,
    expected_calibration_error,
    log_loss,
    reliability_table,
)

NAME = "05_local_traps_and_calibration"
QUICK = quick_mode()
ALPHA = 0.05
LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)

if QUICK:
    CONFIG = dict(
        p=20,
        n_a=300,
        seeds=2,
        ns=[300],
        n_reps=1,
        n_test=500,
        fit_kwargs=dict(n_epochs=100),
        sampling=dict(n_chains=2, n_samples=30, thin=2),
    )
else:
    CONFIG = dict(
        p=100,
        n_a=1000,
        seeds=10,
        ns=[500, 1000, 2000, 5000],
        n_reps=10,
        n_test=2000,
        fit_kwargs={},
        sampling=dict(n_chains=4, n_samples=200, thin=5),
    )
FULL_NS = [500, 1000, 2000, 5000]
FULL_REPS = 10
FULL_SEEDS = 10
# BSDL_VIGNETTE_NS / BSDL_VIGNETTE_REPS reduce part B, BSDL_VIGNETTE_SEEDS part A (stated in
# report.md)
apply_grid_overrides(CONFIG)
if os.environ.get("BSDL_VIGNETTE_SEEDS"):
    CONFIG["seeds"] = int(os.environ["BSDL_VIGNETTE_SEEDS"])
N_JOBS = n_jobs()
LR = 0.01
TAU0 = 1.0
METHODS = {
    "(a) SGD, prior from start": dict(optimizer="sgd", lr=LR, annealing=ConstantSchedule()),
    "(b) annealed Adam (default)": dict(),
    "(b') annealed SGD": dict(optimizer="sgd", lr=LR),
    "(c) annealed SGHMC": dict(
        optimizer="sghmc", lr=LR, annealing=PriorAnnealing(temperature=TAU0)
    ),
}
POSTERIOR = "(b) + posterior"
INTERVALS = ("asymptotic", "posterior")
DEFAULT = "(b) annealed Adam (default)"
DESIGNS = {"regression": (0, 1, 2, 3, 4), "classification": (0, 1, 2, 3)}

OUT = out_dir(NAME, HERE)
announce(OUT, CONFIG, N_JOBS)

# %% [markdown]
# ## Data and seeds
#
# Replicate r of a design at size n: training data from `default_rng([d, r, n, 0])`, test
# data from `default_rng([d, r, n, 1])` (d = 0 regression, 1 classification, 2 part B);
# every method sees the same data and gets `random_state=r`.


# %%
def simulate(design: str, n: int, rep: int, part: int | None = None):
    d = list(DESIGNS).index(design) if part is None else part
    make = make_sparse_regression if design == "regression" else make_sparse_classification
    X, y = make(n, CONFIG["p"], random_state=np.random.default_rng([d, rep, n, 0]))
    Xt, yt = make(CONFIG["n_test"], CONFIG["p"], random_state=np.random.default_rng([d, rep, n, 1]))
    return X, y, Xt, yt


def selection(selected, true) -> dict:
    s = {int(j) for j in selected}
    return dict(
        exact=float(s == set(true)),
        n_selected=len(s),
        n_true=len(s & set(true)),
        selected=" ".join(map(str, sorted(s))),
    )


# %% [markdown]
# ## Part A: the fits
#
# One function fits one method on one replicate and returns its metrics. Fit (b) samples
# after its MAP fit (`method="sghmc"`); its MAP numbers are those of the default estimator
# (sampling does not change the MAP fit), the posterior numbers come from the same fit.


# %%
def fit_a(design: str, method: str, rep: int) -> list[dict]:
    true = DESIGNS[design]
    X, y, Xt, yt = simulate(design, CONFIG["n_a"], rep)
    kwargs = dict(METHODS[method], **CONFIG["fit_kwargs"])
    sample = method == DEFAULT
    if sample:
        kwargs.update(method="sghmc", **CONFIG["sampling"])
    cls = SparseMLPRegressor if design == "regression" else SparseMLPClassifier
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = cls(random_state=rep, **kwargs).fit(X, y)
            error = ""
        except Exception as exc:  # recorded and reported
            model, error = None, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - t0
    base = dict(design=design, n=CONFIG["n_a"], rep=rep, method=method, seconds=seconds,
                error=error, warnings=bsdl_warning_names(caught))  # fmt: skip
    if model is None:
        return [dict(base, exact=0.0)]
    row = dict(base, **selection(model.selected_features_, true), bic=float(model.bic_))
    rows = []
    if design == "regression":
        pi = model.predict_interval(Xt, alpha=ALPHA)
        row.update(
            error_rate=float(np.mean((model.predict(Xt) - yt) ** 2)),
            coverage=pi.coverage(yt),
            width=float(np.mean(pi.width)),
        )
        rows.append(row)
        if sample:
            post = model.predict_interval(Xt, alpha=ALPHA, kind="posterior")
            mse = float(np.mean((post.mean - yt) ** 2))
            width = float(np.mean(post.width))
            rows.append(
                dict(row, method=POSTERIOR, error_rate=mse, coverage=post.coverage(yt), width=width)
            )
    else:
        proba = model.predict_proba(Xt)
        codes = np.searchsorted(model.classes_, yt)
        row.update(calibration(codes, proba))
        rows.append(row)
        if sample:
            pbar = model.predict_interval(Xt, kind="posterior").mean
            rows.append(dict(row, method=POSTERIOR, **calibration(codes, pbar)))
    return rows


def calibration(codes: np.ndarray, proba: np.ndarray) -> dict:
    return dict(
        error_rate=float(np.mean(proba.argmax(axis=1) != codes)),
        ece=expected_calibration_error(codes, proba),
        nll=log_loss(codes, proba),
        brier=brier_score(codes, proba),
        proba=proba[:, 1].round(5).tolist(),
        codes=codes.tolist(),
    )


# %% [markdown]
# ## Part B: the fits
#
# One `method="sghmc"` fit per replicate and n; both kinds of interval on its 2000 test
# points, and their coverage at each nominal level.


# %%
def fit_b(n: int, rep: int) -> list[dict]:
    X, y, Xt, yt = simulate("regression", n, rep, part=2)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = SparseMLPRegressor(
                random_state=rep, method="sghmc", **CONFIG["sampling"], **CONFIG["fit_kwargs"]
            ).fit(X, y)
        except Exception as exc:  # recorded and reported
            error = f"{type(exc).__name__}: {exc}"
            nan = dict(coverage=np.nan, width=np.nan, interval_score=np.nan, MSE=np.nan)
            return [dict(n=n, rep=rep, intervals=kind, error=error, **nan, exact=np.nan,
                         seconds=time.perf_counter() - t0) for kind in INTERVALS]  # fmt: skip
    seconds = time.perf_counter() - t0
    rows = []
    for kind, pi in (
        ("asymptotic", model.predict_interval(Xt, alpha=ALPHA)),
        ("posterior", model.predict_interval(Xt, alpha=ALPHA, kind="posterior")),
    ):
        curve = coverage_curve(pi, yt, LEVELS)
        rows.append(
            dict(
                n=n,
                rep=rep,
                intervals=kind,
                coverage=pi.coverage(yt),
                width=float(np.mean(pi.width)),
                interval_score=float(np.mean(pi.interval_score(yt))),
                MSE=float(np.mean((pi.mean - yt) ** 2)),
                n_nonzero=int(model.n_nonzero_),
                exact=float(set(model.selected_features_.tolist()) == set(DESIGNS["regression"])),
                seconds=seconds,
                error="",
                **{f"cov_{lv}": c for lv, c in zip(LEVELS, curve["coverage"])},
            )
        )
    return rows


# %% [markdown]
# ## Run the study
#
# With `BSDL_N_JOBS=k` the fits run in k joblib workers (set `OMP_NUM_THREADS=1` too).

# %%
t_start = time.perf_counter()
tasks_a = [(d, m, r) for d in DESIGNS for m in METHODS for r in range(CONFIG["seeds"])]
rows_a = []
for task, out in zip(tasks_a, Parallel(n_jobs=N_JOBS, return_as="generator")(
    delayed(fit_a)(*t) for t in tasks_a
)):  # fmt: skip
    rows_a += out
    r = out[0]
    print(
        f"[{time.perf_counter() - t_start:7.1f}s] A {task[0]:<14s} {task[1]:<28s} "
        f"rep={task[2]:<2d} "
        f"selected=[{r.get('selected', '')}] err={r.get('error_rate', np.nan):.3f} "
        f"{r['seconds']:.1f}s" + (f" ERROR {r['error']}" if r["error"] else ""),
        flush=True,
    )
seconds_a = time.perf_counter() - t_start
tasks_b = [(n, r) for n in CONFIG["ns"] for r in range(CONFIG["n_reps"])]
rows_b = []
t_b = time.perf_counter()
for task, out in zip(tasks_b, Parallel(n_jobs=N_JOBS, return_as="generator")(
    delayed(fit_b)(*t) for t in tasks_b
)):  # fmt: skip
    rows_b += out
    a, p = out
    print(
        f"[{time.perf_counter() - t_start:7.1f}s] B n={task[0]:<5d} rep={task[1]:<2d} "
        f"coverage asym {a['coverage']:.3f} post {p['coverage']:.3f}, width asym "
        f"{a['width']:.2f} post {p['width']:.2f} ({a['seconds']:.1f}s)"
        + (f" ERROR {a['error']}" if a["error"] else ""),
        flush=True,
    )
seconds_b = time.perf_counter() - t_b
res_a = pd.DataFrame(rows_a)
res_b = pd.DataFrame(rows_b)
res_a.drop(columns=["proba", "codes"], errors="ignore").assign(part="A").pipe(
    lambda a: pd.concat([a, res_b.assign(part="B", design="regression")], ignore_index=True)
).to_csv(OUT / "results.csv", index=False)

# %% [markdown]
# ## Part A: results
#
# Per design and method: the exact-recovery rate ± its binomial standard error
# sqrt(p(1 - p) / R) over the R seeds, the number of selected inputs and of true inputs
# among them, BIC, and test error and calibration, mean ± sd over seeds.


# %%
def _rate(values: pd.Series) -> str:
    p, r = float(values.mean()), len(values)
    return f"{p:.2f} ± {np.sqrt(p * (1 - p) / r):.2f}"


def table_a(design: str) -> pd.DataFrame:
    out = []
    for method in [*METHODS, POSTERIOR]:
        sub = res_a[(res_a.design == design) & (res_a.method == method)]
        row = {"design": design, "method": method}
        if method == POSTERIOR:
            row.update({"exact recovery": "same fit as (b)", "no. selected": "", "BIC": ""})
        else:
            row.update(
                {
                    "exact recovery": _rate(sub["exact"]),
                    "no. selected": mean_sd(sub["n_selected"], 1),
                    "BIC": mean_sd(sub["bic"], 0),
                }
            )
        if design == "regression":
            row.update(
                {
                    "test MSE": mean_sd(sub["error_rate"], 2),
                    "95% coverage": mean_sd(sub["coverage"], 3),
                    "95% width": mean_sd(sub["width"], 2),
                }
            )
        else:
            row.update(
                {
                    "test error": mean_sd(sub["error_rate"], 3),
                    "ECE": mean_sd(sub["ece"], 3),
                    "NLL": mean_sd(sub["nll"], 3),
                    "Brier": mean_sd(sub["brier"], 3),
                }
            )
        row["seconds"] = f"{sub['seconds'].mean():.1f}"
        row["failed"] = int((sub["error"] != "").sum()) if "error" in sub else 0
        out.append(row)
    return pd.DataFrame(out)


table_reg = show(table_a("regression"))
table_clf = show(table_a("classification"))

# %% [markdown]
# ## Part B: results
#
# Per n and kind of interval: coverage of the 95 % intervals (mean over replicates, with
# the binomial standard error of one replicate's coverage sqrt(0.95 0.05 / n_test) and the
# standard error of the mean over replicates), mean width, interval score and test MSE.


# %%
def table_b() -> pd.DataFrame:
    out = []
    for n in CONFIG["ns"]:
        for kind in ("asymptotic", "posterior"):
            every = res_b[(res_b.n == n) & (res_b.intervals == kind)]
            sub = every[every.error == ""]
            reps = len(sub)
            se_rep = sub["coverage"].std(ddof=1) / np.sqrt(reps) if reps > 1 else np.nan
            out.append(
                {
                    "n": n,
                    "intervals": kind,
                    "95% coverage": f"{sub['coverage'].mean():.3f}",
                    "binomial se": f"{np.sqrt(0.95 * 0.05 / CONFIG['n_test']):.4f}",
                    "replicate se": f"{se_rep:.4f}",
                    "mean width": mean_sd(sub["width"], 2),
                    "interval score": mean_sd(sub["interval_score"], 2),
                    "test MSE": mean_sd(sub["MSE"], 2),
                    "exact recovery": f"{sub['exact'].mean():.2f}",
                    "fit seconds": f"{sub['seconds'].mean():.1f}",
                    "failed": int((every.error != "").sum()),
                }
            )
    return pd.DataFrame(out)


table_int = show(table_b())

# %% [markdown]
# ## Figures
#
# Exact recovery and test error per method (part A); reliability diagrams of the
# classifiers (pooled over seeds); coverage and width against n, and the coverage curve at
# the smallest and largest n (part B).


# %%
def plot_part_a() -> Path:
    fig, axes = panels(1, 3, 4.6, 3.8)
    names = list(METHODS)
    for k, design in enumerate(DESIGNS):
        sub = res_a[res_a.design == design]
        rate = [sub[sub.method == m]["exact"].mean() for m in names]
        se = [np.sqrt(r * (1 - r) / max(1, (sub.method == m).sum())) for r, m in zip(rate, names)]
        axes[0, 0].bar(np.arange(4) + 0.4 * k - 0.2, rate, 0.4, yerr=se, label=design)
        errs = [sub[sub.method == m]["error_rate"].to_numpy() for m in names]
        ax = axes[0, 1 + k]
        ax.boxplot(errs)
        ax.set_xticks(range(1, 5), ["(a)", "(b)", "(b')", "(c)"])
        ax.set_ylabel("test MSE" if design == "regression" else "test error rate")
        ax.set_title(design)
    axes[0, 0].set_xticks(range(4), ["(a)", "(b)", "(b')", "(c)"])
    axes[0, 0].set_ylim(0, 1.05)
    axes[0, 0].set_ylabel("exact recovery rate (± binomial se)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Part A: n = {CONFIG['n_a']}, p = {CONFIG['p']}, {CONFIG['seeds']} seeds")
    return save_figure(fig, OUT / "local_traps.png")


def plot_reliability() -> Path:
    names = [*METHODS, POSTERIOR]
    fig, axes = panels(1, len(names), 3.4, 3.6)
    sub = res_a[res_a.design == "classification"]
    for ax, method in zip(axes[0], names):
        rows = sub[(sub.method == method) & (sub.error == "")]
        if rows.empty:
            continue
        codes = np.concatenate([np.asarray(c) for c in rows["codes"]])
        p1 = np.concatenate([np.asarray(p) for p in rows["proba"]])
        proba = np.column_stack([1 - p1, p1])
        t = reliability_table(codes, proba)
        ax.bar(t["confidence"], t["accuracy"], width=(t["bin_upper"] - t["bin_lower"]) * 0.9)
        ax.plot([0.5, 1], [0.5, 1], "k--", lw=1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("confidence")
        ax.set_title(f"{method}\nECE {expected_calibration_error(codes, proba):.3f}", fontsize=8)
    axes[0, 0].set_ylabel("accuracy")
    return save_figure(fig, OUT / "reliability.png")


def plot_part_b() -> Path:
    fig, axes = panels(1, 3, 4.6, 3.8)
    for kind, style in (("asymptotic", dict(color="C0", marker="o")),
                        ("posterior", dict(color="C1", marker="s"))):  # fmt: skip
        sub = res_b[res_b.intervals == kind].groupby("n")
        cov, width = sub["coverage"].mean(), sub["width"].mean()
        axes[0, 0].plot(cov.index, cov.values, label=kind, **style)
        axes[0, 1].plot(width.index, width.values, label=kind, **style)
        for n, ls in ((min(CONFIG["ns"]), ":"), (max(CONFIG["ns"]), "-")):
            rows = res_b[(res_b.intervals == kind) & (res_b.n == n)]
            curve = [rows[f"cov_{lv}"].mean() for lv in LEVELS]
            axes[0, 2].plot(LEVELS, curve, ls=ls, label=f"{kind}, n = {n}", **style)
    axes[0, 0].axhline(1 - ALPHA, color="k", lw=1, ls="--")
    for ax, label in ((axes[0, 0], "95% coverage"), (axes[0, 1], "mean 95% width")):
        log_n_axis(ax, CONFIG["ns"], "n")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    axes[0, 2].plot([0.5, 0.99], [0.5, 0.99], "k--", lw=1)
    axes[0, 2].set_xlabel("nominal level")
    axes[0, 2].set_ylabel("empirical coverage")
    axes[0, 2].legend(fontsize=7)
    fig.suptitle(f"Part B: posterior vs asymptotic intervals, p = {CONFIG['p']}")
    return save_figure(fig, OUT / "intervals.png")


figures = [plot_part_a(), plot_reliability(), plot_part_b()]
total_seconds = time.perf_counter() - t_start

# %% [markdown]
# ## Report


# %%
def deviations() -> list[str]:
    notes = deviation_notes(
        f"p = {CONFIG['p']}, n = {CONFIG['n_a']} in part A with {CONFIG['seeds']} seeds, "
        f"n in {CONFIG['ns']} with {CONFIG['n_reps']} replicate(s) in part B, "
        f"{CONFIG['n_test']} test points, {CONFIG['fit_kwargs']}, sampling {CONFIG['sampling']}",
        CONFIG,
        FULL_NS,
        FULL_REPS,
    )
    if not QUICK and CONFIG["seeds"] != FULL_SEEDS:
        notes.append(
            f"Part A with {CONFIG['seeds']} seeds instead of {FULL_SEEDS} (`BSDL_VIGNETTE_SEEDS`)."
        )
    return notes


failures = pd.concat(
    [res_a[res_a.error != ""], res_b[(res_b.error != "") & (res_b.intervals == "asymptotic")]],
    ignore_index=True,
)
lines = [
    "# Vignette 5: local traps, prior annealing and calibration (Sun, Xiong & Liang, NeurIPS 2021)",
    "",
    f"Mode: **{'quick' if QUICK else 'full'}**. Code: commit `{git_commit(HERE)}`.",
    "",
    f"Designs: **regression** = `make_sparse_regression(n, p={CONFIG['p']})` (true inputs "
    "0..4, correlation 0.5, noise sd 1), **classification** = "
    f"`make_sparse_classification(n, p={CONFIG['p']})` (true inputs 0..3, balanced). "
    f"{CONFIG['n_test']} fresh test points per replicate. Training data of replicate r: "
    "`default_rng([d, r, n, 0])`, test data `default_rng([d, r, n, 1])`; estimators use "
    "`random_state=r`.",
    "",
    f"Part A (n = {CONFIG['n_a']}, {CONFIG['seeds']} seeds): (a) `optimizer='sgd', lr={LR}, "
    "annealing=ConstantSchedule()`; (b) the defaults (`PriorAnnealing()`, Adam); (b') "
    f"`optimizer='sgd', lr={LR}`; (c) `optimizer='sghmc', lr={LR}, "
    f"annealing=PriorAnnealing(temperature={TAU0})`; all with the default network (16, 8), "
    f"prior and steps{'' if not CONFIG['fit_kwargs'] else ' and ' + str(CONFIG['fit_kwargs'])}. "
    f"(b) + posterior: the same fit as (b) with `method='sghmc'`, {CONFIG['sampling']}: "
    "posterior-predictive intervals (regression) and posterior-averaged probabilities "
    "(classification). lr and the temperature were set once from a pilot on two replicates.",
    "",
    f"Part B (regression, n in {CONFIG['ns']}, {CONFIG['n_reps']} replicates): "
    "`SparseMLPRegressor(method='sghmc', "
    + ", ".join(f"{k}={v}" for k, v in CONFIG["sampling"].items())
    + ", "
    "random_state=r)`; on the same fit the asymptotic 95 % prediction intervals "
    "(`predict_interval(X)`) and the posterior-predictive ones "
    "(`predict_interval(X, kind='posterior')`).",
    "",
    *note_lines(deviations()),
    "## Part A: local traps",
    "",
    "Exact recovery ± binomial se over seeds; other columns mean ± sd over seeds. BIC of the "
    "selected and refitted network (lower: a better mode for the same data). Regression: the "
    "test MSE has the noise floor 1; coverage and width of the 95 % asymptotic prediction "
    "intervals ((b) + posterior: the posterior-predictive ones). Classification: test error "
    "rate, ECE (10 bins, top label), NLL and Brier score of the MAP probabilities "
    "((b) + posterior: of the posterior-averaged ones).",
    "",
    table_reg,
    "",
    table_clf,
    "",
    "## Part B: posterior vs asymptotic intervals",
    "",
    "95 % prediction intervals on the same fits. Binomial se: the sd of one replicate's "
    "coverage for exactly calibrated intervals with independent misses; replicate se: the "
    "sd of the replicates' coverages / sqrt(R). Interval score: Gneiting & Raftery's, lower "
    "is better.",
    "",
    table_int,
    "",
]
if not failures.empty:
    lines += ["## Failed fits", ""]
    lines += [
        f"* {r.design if isinstance(r.design, str) else 'part B'}, "
        f"{r.method if isinstance(r.method, str) else f'n = {r.n}'}, seed {r.rep}: `{r.error}`"
        for r in failures.itertuples()
    ]
    lines += [""]
write_report(
    OUT,
    lines,
    figures,
    total_seconds,
    time_detail=f" (part A {seconds_a / 60:.1f} min, part B {seconds_b / 60:.1f} min)",
)
