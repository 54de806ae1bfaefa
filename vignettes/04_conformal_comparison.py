# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Vignette 4: asymptotic intervals against conformal prediction on real series
#
# Zhang, Sun & Liang (NeurIPS 2023) argue that the asymptotic-normal one-step intervals of a
# sparse RNN are calibrated without spending data on calibration, and compare them with
# conformal methods built for time series. This vignette lets anyone check that claim on the
# real series bundled with bsdl, with `bsdl.compare.compare_intervals` (the engine of the
# `bsdl compare` command), and puts the classical linear answer beside them: statsmodels'
# AutoReg at the BIC lags. Three daily return series (S&P 500, NASDAQ Composite, WTI crude
# oil, from the example data of the `arch` package) test the intervals where the noise
# variance is not constant, against the field's answer there: an AR-GARCH(1, 1), and with
# bsdl's own answer, `SparseRNN(noise="heteroscedastic")`: a sparse GJR-GARCH conditional
# variance on the innovations of the same sparse RNN.
#
# * every series is cut in time order into **train** (first 60 %), **calibration** (next 20 %)
#   and **test** (last 20 %); long series keep their last 1500 points;
# * every method uses the same model, `SparseRNN(lags=10)` with its defaults and the same seed,
#   as it would be used in practice:
#   - **bsdl**: the asymptotic one-step prediction interval (delta method on the selected
#     weights plus the noise variance) of one fit on train + calibration: it needs no
#     calibration set;
#   - **hybrid**: `AdaptiveAsymptotic` on the same fit: bsdl's interval (its standard error
#     and Student-t critical value) at levels alpha_t moved online by ACI's update, one
#     per step size (0, the nominal level held fixed, and AgACI's nine), the experts'
#     bounds aggregated online as AgACI does: no calibration set either;
#   - **conformalized**: `ConformalizedAsymptotic`, a fit on the training span, the same
#     interval shape with its multiplier replaced by the conformal quantile of |y - f| / se on
#     the calibration span;
#   - **split**: split conformal on absolute residuals (the same training-span fit);
#   - **aci** (gamma = 0.01) and **agaci** (9 step sizes, aggregated): adaptive conformal
#     inference with a sliding window of calibration-length scores (same fit);
#   - **spci**: quantile regression of the next residual on the last 5 residuals (same fit);
#   - **enbpi**: 20 refits on block-bootstrap samples of train + calibration (no calibration
#     set either), blocks of max(N^(1/3), lags + window) points, leave-one-out residuals,
#     sliding residual window; skipped (shown as `-`) when that leaves fewer than 8 blocks;
#   - **autoreg**: the linear baseline, no SparseRNN: statsmodels' `AutoReg` fitted on train +
#     calibration (like bsdl, it needs no calibration set) at the lags chosen there by BIC
#     over all subsets of the same candidate lags 1..10 (statsmodels' global search,
#     `bsdl.baselines.baseline_bic_lags`), with statsmodels' one-step intervals (normal
#     quantiles and the fitted innovation sd, no parameter uncertainty);
#   - **garch**: the volatility baseline, no SparseRNN: an AR-GARCH(1, 1) with Student-t
#     innovations (`arch`) at the same BIC lags, fitted on train + calibration, its
#     conditional variance filtered along the test span with the fitted parameters;
#     skipped (`-`) when train + calibration has fewer than 100 points beyond its largest lag;
#   - **bsdl-het** and **hybrid-het** (return series only): bsdl and the hybrid with
#     `SparseRNN(lags=10, noise="heteroscedastic")`, the same seed and split: the one-step
#     interval uses the predicted conditional variance of the innovations;
# * each method walks the test span **online**: the value at t is revealed after the interval
#   at t (the adaptive methods, the hybrid and GARCH's variance use it; bsdl, autoreg and
#   split do not);
# * metrics (`bsdl.conformal.metrics`): coverage, mean width, the interval (Winkler) score
#   (width plus 2/alpha times the miss distance: lower is better, and it rewards calibrated
#   and narrow together), and seconds (the shared fit plus the method's own work).
#
# A coverage is **within the band** when it lies within 2 binomial standard errors,
# 2 sqrt(alpha (1 - alpha) / n_test), of the nominal level. Test spans are short (20 to 300
# points) and serially dependent, so the band is a guide, not a test.
#
# Full mode: the 10 real series of `REAL_SERIES` (yearly, quarterly, monthly, weekly, daily,
# half-hourly, minutely, unitless), the 3 return series of `RETURN_SERIES` and two simulated
# ones (`make_ar(1500)`, true lags {1, 3, 7}, and `make_nonlinear_ar(1500)`), 90 % and 95 %,
# one seed. Quick mode (`BSDL_QUICK=1`): Nile, sunspots, the last 400 S&P 500 returns and a
# short simulated pair, 60 epochs, 3 EnbPI refits, 90 % only: it checks that the pipeline runs.

# %%
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    FitCache,
    announce,
    environment,
    n_jobs,
    out_dir,
    quick_mode,
    quick_note,
    to_markdown,
)

from bsdl import SparseRNN  # noqa: E402
from bsdl.compare import compare_intervals, default_methods, write_report  # noqa: E402
from bsdl.datasets import (  # noqa: E402
    REAL_SERIES,
    RETURN_SERIES,
    load_series,
    make_ar,
    make_nonlinear_ar,
)

NAME = "04_conformal_comparison"
QUICK = quick_mode()
N_JOBS = n_jobs()
if QUICK:
    CONFIG = dict(
        real=["nile", "sunspots"],
        returns=["sp500"],
        returns_length=400,
        n_sim=400,
        alphas=[0.1],
        n_seeds=1,
        n_bootstraps=3,
        max_length=1500,
        rnn_params=dict(n_epochs=60),
    )
else:
    CONFIG = dict(
        real=list(REAL_SERIES),
        returns=list(RETURN_SERIES),
        returns_length=None,
        n_sim=1500,
        alphas=[0.1, 0.05],
        n_seeds=int(os.environ.get("BSDL_VIGNETTE_SEEDS", "1")),
        n_bootstraps=20,
        max_length=1500,
        rnn_params={},
    )
OUT = out_dir(NAME, HERE)
announce(OUT, CONFIG, N_JOBS)
METHODS = list(default_methods())  # garch needs arch (a test and bench extra)

# %% [markdown]
# ## Data
#
# The real series come from `bsdl.datasets.load_series` (statsmodels' bundled data, CSV
# files in `data/` and arch's example data for the returns, see `data/README.md`); the
# simulated ones from fixed seeds. Returns are in percent, indexed by trading day.

# %%
series = {name: load_series(name) for name in CONFIG["real"]}
for name in CONFIG["returns"]:
    r = load_series(name)
    series[name] = r if CONFIG["returns_length"] is None else r.iloc[-CONFIG["returns_length"] :]
series["sim_linear_ar"] = pd.Series(make_ar(CONFIG["n_sim"], random_state=11))
series["sim_nonlinear_ar"] = pd.Series(make_nonlinear_ar(CONFIG["n_sim"], random_state=12))
for name, s in series.items():
    print(f"{name:<22s} {s.size:>6d} points, using the last {min(s.size, CONFIG['max_length'])}")

# %% [markdown]
# ## Run
#
# Series (times seeds) run in `BSDL_N_JOBS` joblib workers, one `compare_intervals` call
# each. With `BSDL_VIGNETTE_CACHE` set, each series' rows are kept on disk, so an interrupted
# run resumes where it stopped (the seeds come from `random_state` alone, so a series run on
# its own gets the rows it gets among the others).

# %%
CACHE = FitCache(NAME, HERE / f"{NAME}.py")
# the return series again with noise="heteroscedastic": bsdl and the hybrid (same seeds,
# same data: the seeds come from random_state, the split from the same fractions)
HET_METHODS = ["bsdl", "hybrid"]


def run_series(name: str, het: bool) -> dict:
    """One series through compare_intervals (the seeds depend on random_state only, so a
    series alone gives the rows it gets among the others), as plain data for the cache."""
    settings = dict(
        alpha=CONFIG["alphas"],
        n_seeds=CONFIG["n_seeds"],
        max_length=CONFIG["max_length"],
        n_jobs=1,
        random_state=0,
    )
    if het:
        part = compare_intervals(
            {name: series[name]},
            methods=HET_METHODS,
            model_params=CONFIG["rnn_params"] | {"noise": "heteroscedastic"},
            **settings,
        )
        return {"rows": part.to_dict("records"), "intervals": []}
    part, shown = compare_intervals(
        {name: series[name]},
        methods=METHODS,
        rnn_params=CONFIG["rnn_params"],
        n_bootstraps=CONFIG["n_bootstraps"],
        return_intervals=True,
        **settings,
    )
    stored = [
        {"key": list(k), "index": index_to_json(df.index), "columns": df.to_dict("list")}
        for k, df in shown.items()
    ]
    return {"rows": part.to_dict("records"), "intervals": stored}


def index_to_json(index: pd.Index) -> dict:
    """A series index as plain data (dates, periods with their frequency, or labels)."""
    if isinstance(index, pd.DatetimeIndex):
        return {"kind": "datetime", "values": [v.isoformat() for v in index]}
    if isinstance(index, pd.PeriodIndex):
        return {"kind": "period", "freq": index.freqstr, "values": [str(v) for v in index]}
    return {"kind": "labels", "values": index.tolist()}


def index_from_json(data: dict) -> pd.Index:
    if data["kind"] == "datetime":
        return pd.DatetimeIndex(data["values"])
    if data["kind"] == "period":
        return pd.PeriodIndex(data["values"], freq=data["freq"])
    return pd.Index(data["values"])


def unpack(result: dict) -> tuple[pd.DataFrame, dict]:
    """Rows and intervals from a cached or fresh run of ``run_series``."""
    shown = {}
    for item in result["intervals"]:
        key = tuple(item["key"])
        shown[(key[0], int(key[1]), float(key[2]), key[3])] = pd.DataFrame(
            item["columns"], index=index_from_json(item["index"])
        )
    return pd.DataFrame(result["rows"]), shown


tasks = [(name, False) for name in series] + [(name, True) for name in CONFIG["returns"]]
key_settings = {k: v for k, v in CONFIG.items() if k not in ("real", "returns")}
parts, het_parts, intervals = [], [], {}
t0 = time.perf_counter()
for (name, het), result in CACHE.map(
    run_series, tasks, lambda n, h: {"series": n, "het": h, **key_settings}, n_jobs=N_JOBS
):
    part, shown = unpack(result)
    (het_parts if het else parts).append(part)
    intervals.update(shown)
    print(f"{name}{' (heteroscedastic)' if het else ''}: done")
total_seconds = time.perf_counter() - t0
order = {m: i for i, m in enumerate(METHODS)}
frame = (
    pd.concat(parts, ignore_index=True)
    .sort_values(
        ["series", "alpha", "seed", "method"],
        key=lambda c: c.map(order) if c.name == "method" else c,
    )
    .reset_index(drop=True)
)
het_frame = pd.concat(het_parts, ignore_index=True)
het_frame["method"] = het_frame.method + "-het"
write_report(frame, intervals, OUT)
print(f"done in {total_seconds:.0f} s")

# %% [markdown]
# ## Tables
#
# Means over seeds. Coverage marked `*` is outside the band (2 binomial standard errors).

# %%
mean = frame.groupby(["series", "alpha", "method"], sort=False).mean(numeric_only=True)
mean = mean.reset_index()
mean["band"] = 2 * np.sqrt(mean.alpha * (1 - mean.alpha) / mean.n_test)
mean["valid"] = mean.coverage.notna()  # EnbPI is skipped on the shortest series
mean["outside"] = mean.valid & ((mean.coverage - (1 - mean.alpha)).abs() > mean.band)
ref = mean[mean.method == "bsdl"].set_index(["series", "alpha"])
mean["width_ratio"] = (
    mean.width / ref.width.reindex(pd.MultiIndex.from_frame(mean[["series", "alpha"]])).to_numpy()
)


def pivot(values: str, alpha: float, fmt) -> pd.DataFrame:
    part = mean[mean.alpha == alpha]
    table = part.pivot(index="series", columns="method", values=values)[list(METHODS)]
    table = table.reindex(list(series))
    fmt = (lambda f: lambda v: "-" if pd.isna(v) else f(v))(fmt)
    if values == "coverage":
        flags = part.pivot(index="series", columns="method", values="outside")[list(METHODS)]
        flags = flags.reindex(list(series))
        return table.map(fmt) + flags.map(lambda f: "*" if f else "")
    return table.map(fmt)


sections = []
for alpha in CONFIG["alphas"]:
    level = f"{1 - alpha:.0%}"
    for values, title, fmt in (
        ("coverage", "coverage", "{:.3f}".format),
        ("width_ratio", "mean width relative to bsdl", "{:.2f}".format),
        ("interval_score", "interval score (lower is better)", "{:.4g}".format),
        ("seconds", "seconds (shared fit + method)", "{:.1f}".format),
    ):
        table = pivot(values, alpha, fmt)
        md = to_markdown(table.rename_axis("series").reset_index())
        sections.append(f"### {level}: {title}\n\n{md}\n")
        print(f"\n{level}: {title}\n{table.to_string()}")

# %% [markdown]
# ## The return series
#
# Coverage with its binomial standard error sqrt(c (1 - c) / n_test), and the mean interval
# score, of bsdl, GARCH, ACI and the hybrid on the daily returns, with bsdl and the hybrid
# under both noise models. bsdl's default noise model is constant, so its intervals cannot
# follow the volatility; GARCH's and bsdl-het's can.

# %%
het_mean = het_frame.groupby(["series", "alpha", "method"], sort=False).mean(numeric_only=True)
het_mean = het_mean.reset_index()
het_mean["band"] = 2 * np.sqrt(het_mean.alpha * (1 - het_mean.alpha) / het_mean.n_test)
het_mean["valid"] = het_mean.coverage.notna()
het_mean["outside"] = het_mean.valid & (
    (het_mean.coverage - (1 - het_mean.alpha)).abs() > het_mean.band
)
RET_METHODS = ["bsdl", "bsdl-het", "garch", "aci", "hybrid", "hybrid-het"]
RET_METHODS = [m for m in RET_METHODS if m in METHODS or m.endswith("-het")]
ret_rows = pd.concat([mean, het_mean], ignore_index=True)
ret_rows = ret_rows[ret_rows.series.isin(CONFIG["returns"]) & ret_rows.method.isin(RET_METHODS)]
rank = {m: i for i, m in enumerate(RET_METHODS)}
ret_rows = ret_rows.sort_values(
    ["series", "alpha", "method"], key=lambda c: c.map(rank) if c.name == "method" else c
).copy()
ret_rows["cov_se"] = np.sqrt(ret_rows.coverage * (1 - ret_rows.coverage) / ret_rows.n_test)
ret_table = pd.DataFrame(
    {
        "series": ret_rows.series,
        "level": [f"{1 - a:.0%}" for a in ret_rows.alpha],
        "method": ret_rows.method,
        "coverage (se)": [
            "-" if pd.isna(c) else f"{c:.3f} ({e:.3f}){'*' if o else ''}"
            for c, e, o in zip(ret_rows.coverage, ret_rows.cov_se, ret_rows.outside, strict=True)
        ],
        "interval score": ret_rows.interval_score.map("{:.3f}".format),
        "width": ret_rows.width.map("{:.3f}".format),
    }
)
ret_md = to_markdown(ret_table)
print(ret_table.to_string(index=False))

# %% [markdown]
# ## The fitted conditional sd
#
# `SparseRNN(lags=10, noise="heteroscedastic")` on the train + calibration span of the S&P
# 500 returns (the first 80 % of the points used above), its conditional sd
# (`conditional_sd`) along the whole span, one step ahead, against the absolute returns and
# GARCH's one-step sd on the test span (fitted on the same span).

# %%
sd_name = CONFIG["returns"][0]
sd_values = series[sd_name].to_numpy()[-CONFIG["max_length"] :]
n_fit = int(round(0.8 * sd_values.size))
sd_model = SparseRNN(lags=10, noise="heteroscedastic", random_state=0, **CONFIG["rnn_params"])
sd_model.fit(sd_values[:n_fit])
cond_sd = sd_model.conditional_sd(sd_values)
if "garch" in METHODS:
    from bsdl.garch import garch_forecasts

    garch_sd = garch_forecasts(sd_values, [], n_fit).sd
else:
    garch_sd = None
import matplotlib.pyplot as plt  # noqa: E402

fig_sd, ax = plt.subplots(figsize=(9, 3.5))
pos = np.arange(sd_values.size)
ax.plot(pos, np.abs(sd_values), color="0.75", lw=0.6, label="|return|")
ax.plot(cond_sd.index, cond_sd.to_numpy(), color="C0", lw=1.2, label="bsdl-het conditional sd")
if garch_sd is not None:
    ax.plot(pos[n_fit:], garch_sd, color="C3", lw=1.0, ls="--", label="GARCH sd (test span)")
ax.axvline(n_fit, color="k", lw=0.8, ls=":")
ax.set_xlabel(f"day (last {sd_values.size} of {sd_name}); dotted: end of the fitting span")
ax.set_ylabel("%")
ax.legend(loc="upper left", fontsize=8)
fig_sd.tight_layout()
fig_sd.savefig(OUT / f"conditional_sd_{sd_name}.png", dpi=110)
plt.close(fig_sd)
sd_lags = ", ".join(map(str, sd_model.variance_selected_lags_)) or "none"
print(f"{sd_name}: variance lags {sd_lags}, persistence {sd_model.variance_persistence_:.3f}")

# %% [markdown]
# ## Where bsdl wins and where it loses
#
# Computed from the table, per level: on how many series each method's coverage is within the
# band, how often it has the best interval score, its mean width relative to bsdl, and the
# series on which bsdl's coverage falls below the band (with the methods that did not); then
# bsdl against the linear baseline in the same run: on how many series bsdl's interval score is
# lower than that of AutoReg at the BIC lags, AutoReg's coverage, and the width ratio.

# %%
verdicts = []
summary_rows = []
for alpha in CONFIG["alphas"]:
    part = mean[mean.alpha == alpha]
    k = part.series.nunique()
    best = part.loc[part.groupby("series").interval_score.idxmin(), "method"].value_counts()
    for method in METHODS:
        m = part[part.method == method]
        summary_rows.append(
            dict(
                level=f"{1 - alpha:.0%}",
                method=method,
                within_band=f"{int((m.valid & ~m.outside).sum())}/{int(m.valid.sum())}",
                below_band=int(((1 - alpha) - m.coverage > m.band).sum()),
                best_interval_score=int(best.get(method, 0)),
                mean_coverage=round(float(m.coverage.mean()), 3),
                mean_width_ratio=round(float(m.width_ratio.mean()), 2),
                mean_seconds=round(float(m.seconds.mean()), 1),
            )
        )
    b = part[part.method == "bsdl"].set_index("series")
    low = b[(1 - alpha) - b.coverage > b.band].index.tolist()
    level = f"{1 - alpha:.0%}"
    verdicts.append(
        f"* **{level}**: bsdl's coverage is within the band on "
        f"{int((~b.outside).sum())} of {k} series; it has the best interval score on "
        f"{int(best.get('bsdl', 0))} of {k}, and conformalized-asymptotic on "
        f"{int(best.get('conformalized', 0))}."
    )
    if low:
        for name in low:
            rows = part[part.series == name]
            ok = rows[(rows.coverage - (1 - alpha)).abs() <= rows.band].method.tolist()
            verdicts.append(
                f"  * bsdl under-covers on **{name}** ({b.loc[name, 'coverage']:.3f}); "
                f"within the band there: {', '.join(ok) if ok else 'no method'}."
            )
    else:
        verdicts.append("  * bsdl does not fall below the band on any series.")
    # bsdl against the linear baseline, series by series in this run
    a = part[part.method == "autoreg"].set_index("series").reindex(b.index)
    lower_score = int((b.interval_score < a.interval_score).sum())
    ratio = a.width / b.width
    verdicts.append(
        f"  * against AutoReg at the BIC lags: bsdl's interval score is lower on "
        f"{lower_score} of {k} series (not lower on the other {k - lower_score}); "
        f"AutoReg's coverage is within the band on {int((~a.outside).sum())} of {k}; "
        f"AutoReg width / bsdl width: median {ratio.median():.2f} "
        f"(range {ratio.min():.2f} to {ratio.max():.2f})."
    )
    # the hybrid against ACI (issue 15's target: within the band, width <= ACI's)
    hy = part[part.method == "hybrid"].set_index("series").reindex(b.index)
    ac = part[part.method == "aci"].set_index("series").reindex(b.index)
    verdicts.append(
        f"  * the hybrid (bsdl's interval at aggregated ACI levels) is within the band on "
        f"{int((~hy.outside).sum())} of {k} series (ACI: {int((~ac.outside).sum())}); its "
        f"width is at most ACI's on {int((hy.width <= ac.width).sum())} of {k} (hybrid / ACI "
        f"width: median {(hy.width / ac.width).median():.2f})."
    )
    ret = [name for name in CONFIG["returns"] if name in b.index]
    if ret and "garch" in METHODS:
        g = part[part.method == "garch"].set_index("series").reindex(ret)
        hp = het_mean[het_mean.alpha == alpha]
        bh = hp[hp.method == "bsdl-het"].set_index("series").reindex(ret)
        ratios = (bh.interval_score / g.interval_score).items()
        score_ratios = ", ".join(f"{n} {r:.3f}" for n, r in ratios)
        verdicts.append(
            f"  * on the {len(ret)} return series: within the band bsdl "
            f"{int((~b.loc[ret].outside).sum())}, bsdl-het {int((~bh.outside).sum())}, "
            f"GARCH {int((g.valid & ~g.outside).sum())}, "
            f"hybrid {int((~hy.loc[ret].outside).sum())}, ACI {int((~ac.loc[ret].outside).sum())}"
            f"; GARCH's interval score is lower than bsdl's on "
            f"{int((g.interval_score < b.loc[ret].interval_score).sum())} of {len(ret)}; "
            f"bsdl-het's is at most GARCH's on "
            f"{int((bh.interval_score <= g.interval_score).sum())} of {len(ret)} (bsdl-het / "
            f"GARCH: {score_ratios})."
        )
enb = mean[mean.method == "enbpi"].set_index(["series", "alpha"]).seconds
bs = mean[mean.method == "bsdl"].set_index(["series", "alpha"]).seconds
time_ratio = (enb / bs).groupby(level=0).mean()
verdicts.append(
    f"* **Cost**: EnbPI ({CONFIG['n_bootstraps']} refits) took {time_ratio.median():.1f} times "
    f"as long as bsdl's one fit (median over series; range {time_ratio.min():.1f} to "
    f"{time_ratio.max():.1f}); AutoReg's lag search and fit took a median "
    f"{mean[mean.method == 'autoreg'].seconds.median():.2f} s per series and level, bsdl's fit "
    f"{bs.median():.1f} s."
)
summary = pd.DataFrame(summary_rows)
ar_lags = frame[frame.method == "autoreg"].drop_duplicates("series").set_index("series").note
ar_lags_md = to_markdown(
    pd.DataFrame({"series": list(series), "AutoReg lags": ar_lags.reindex(list(series)).values})
)
print(summary.to_string(index=False))
print("\n".join(verdicts))

# %% [markdown]
# ## Report

# %%
notes = []
if QUICK:
    notes.append(
        quick_note(
            "two real series, the last 400 S&P 500 returns and a 400-point simulated pair, "
            "60 epochs, 3 EnbPI refits, 90 % only"
        )
    )
notes += CACHE.note()
summary_md = to_markdown(summary)
lines = [
    "# Vignette 4: asymptotic intervals against conformal prediction",
    "",
    f"Mode: **{'quick' if QUICK else 'full'}**. Series: {', '.join(series)}; levels "
    f"{', '.join(f'{1 - a:.0%}' for a in CONFIG['alphas'])}; {CONFIG['n_seeds']} seed(s); "
    f"train/calibration/test = 60/20/20 % of the last {CONFIG['max_length']} points; "
    f"SparseRNN(lags=10{', n_epochs=60' if QUICK else ''}) throughout: bsdl fitted on train + "
    "calibration, the calibration-based methods share one fit on train, EnbPI "
    f"{CONFIG['n_bootstraps']} bootstrap refits on train + calibration; autoreg is "
    "statsmodels' AutoReg on train + calibration at the BIC lags chosen there (all subsets "
    "of 1..10), with statsmodels' one-step intervals; garch is an AR-GARCH(1, 1) with "
    "Student-t innovations (arch) at the same lags; hybrid is bsdl's interval at ACI "
    "levels of step sizes 0 and AgACI's nine, aggregated as in AgACI; bsdl-het and "
    "hybrid-het are bsdl and the hybrid with "
    "SparseRNN(lags=10, noise='heteroscedastic') on the return series (same seeds and split). "
    f"Total {total_seconds:.0f} s.",
    "",
    *(f"> {n}" for n in notes),
    "",
    "## Summary",
    "",
    *verdicts,
    "",
    summary_md,
    "",
    "## Tables",
    "",
    "Coverage marked `*` lies outside 2 binomial standard errors of the nominal level.",
    "",
    *sections,
    "### Return series: coverage (binomial se) and interval score",
    "",
    "Coverage marked `*` lies outside 2 binomial standard errors of the nominal level.",
    "",
    ret_md,
    "",
    "### AutoReg lags (chosen on train + calibration of each series)",
    "",
    ar_lags_md,
    "",
    "Figures: `intervals_<series>.png` (the 90 % intervals of every method over the test "
    "span; misses in red) and "
    f"`conditional_sd_{sd_name}.png` (bsdl-het's fitted conditional sd on {sd_name}: "
    f"variance lags {sd_lags}, persistence {sd_model.variance_persistence_:.3f}; GARCH's on the "
    "test span). Per-run results: `comparison.csv`.",
    "",
    "Environment: " + environment(),
]
(OUT / "report.md").write_text("\n".join(lines) + "\n")
print(summary_md)
print(f"wrote {OUT / 'report.md'}")
