"""Shared pieces of the compression studies (issue 18): pruner factory, results.csv, report.md.

Each study writes, into its output folder, ``results.csv`` with the columns
:data:`COLUMNS` (one row per measured number; ``sparsity`` is the *target* share of pruned
weights, 0 for the dense baseline) and ``report.md`` naming the commit, the device and the
command. ``vignettes/06_compression.py`` reads the CSV files.
"""

from __future__ import annotations

import csv
import math
import shlex
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
from _machine import git_commit, loadavg, machine

from bsdl import MixtureGaussianPrior
from bsdl.inference import PriorAnnealing
from bsdl.pruning import GMP, MGPP, PLATON, MovementPruning, Pruner

COLUMNS = ("study", "method", "sparsity", "seed", "metric", "value")
PRUNERS = {"mgpp": MGPP, "gmp": GMP, "movement": MovementPruning, "platon": PLATON}
LABELS = {
    "dense": "dense",
    "mgpp": "MGPP",
    "gmp": "GMP",
    "movement": "movement",
    "platon": "PLATON",
    "prior_annealing": "prior annealing",
}


def make_pruner(
    method: str,
    model,
    sparsity: float,
    total_steps: int,
    n_obs: int,
    *,
    mgpp_options: dict | None = None,
    **schedule,
):
    """One of :data:`PRUNERS` with the study's schedule (MGPP also gets ``n_obs`` and
    ``mgpp_options``, e.g. ``{"slab_center": "initial"}`` for a pretrained model)."""
    cls = PRUNERS[method]
    if cls is MGPP:
        return cls(model, sparsity, total_steps, n_obs=n_obs, **(mgpp_options or {}), **schedule)
    return cls(model, sparsity, total_steps, **schedule)


def add_study_arguments(parser, study: str) -> None:
    """``--study`` (the study column of results.csv; a variant of the setup gets its own
    name, so that vignette 06 does not pool it with the main run) and ``--out`` (default
    ``bench/results/compression/<study>``, filled in by :func:`study_out`)."""
    parser.add_argument(
        "--study",
        default=study,
        help="the study column of results.csv (a variant of the setup gets its own name, so "
        "that vignette 06 does not pool it with the main run)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="default: bench/results/compression/<study>"
    )


def study_out(args) -> None:
    """Fill in ``args.out`` from ``args.study`` when it was not given."""
    if args.out is None:
        args.out = Path(__file__).resolve().parent / "results" / "compression" / args.study


def pick_device(name: str) -> torch.device:
    """``"auto"``: the GPU when torch sees one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def parse_floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def parse_names(text: str, allowed) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise SystemExit(f"unknown method(s) {bad}; choose from {sorted(allowed)}")
    return names


class Results:
    """Rows of one study, written as ``results.csv``."""

    def __init__(self, study: str) -> None:
        self.study = study
        self.rows: list[dict] = []

    def add(
        self, method: str, sparsity: float, seed: int, *, study: str | None = None, **metrics
    ) -> None:
        """One row per metric; ``study`` overrides the default name (a file of two tasks)."""
        for metric, value in metrics.items():
            self.rows.append(
                {
                    "study": study or self.study,
                    "method": method,
                    "sparsity": round(float(sparsity), 6),
                    "seed": int(seed),
                    "metric": metric,
                    "value": float(value),
                }
            )

    def write(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "results.csv"
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    @classmethod
    def resume(cls, study: str, out_dir: Path) -> Results:
        """The rows already in ``out_dir/results.csv`` (none if there is no such file)."""
        out = cls(study)
        path = out_dir / "results.csv"
        if path.exists():
            with path.open(newline="") as fh:
                for r in csv.DictReader(fh):
                    r.update(sparsity=float(r["sparsity"]), seed=int(r["seed"]))
                    out.rows.append({**r, "value": float(r["value"])})
        return out

    def done(self) -> set[tuple[str, float, int]]:
        """``(method, sparsity, seed)`` of the runs with a row."""
        return {(r["method"], round(r["sparsity"], 6), r["seed"]) for r in self.rows}

    def methods_and_levels(self, order) -> tuple[list[str], list[float]]:
        """Methods (in ``order``, then any other) and sparsities > 0 present in the rows."""
        present = {r["method"] for r in self.rows} - {"dense"}
        methods = [m for m in order if m in present] + sorted(present - set(order))
        levels = sorted({r["sparsity"] for r in self.rows if r["sparsity"] > 0})
        return methods, levels

    def values(self, metric: str, study: str | None = None) -> dict[tuple[str, float], list[float]]:
        """``{(method, sparsity): [value per seed]}`` of one metric (of one study)."""
        out: dict[tuple[str, float], list[float]] = defaultdict(list)
        for r in self.rows:
            if r["metric"] == metric and (study is None or r["study"] == study):
                out[(r["method"], r["sparsity"])].append(r["value"])
        return dict(out)


def mean_sd(values: list[float]) -> tuple[float, float]:
    m = statistics.fmean(values)
    return m, (statistics.stdev(values) if len(values) > 1 else math.nan)


def fmt_mean_sd(values: list[float], digits: int = 1, scale: float = 1.0) -> str:
    m, s = mean_sd([v * scale for v in values])
    text = f"{m:.{digits}f}"
    if len(values) > 1:
        text += f" ± {s:.{digits}f} (n={len(values)})"
    return text


def metric_table(
    results: Results, metric: str, methods, sparsities, *, digits=1, scale=1.0, dense=True
) -> str:
    """Markdown: one row per method, one column per sparsity (mean ± sd over seeds)."""
    vals = results.values(metric)
    head = "| method | " + " | ".join(f"{100 * s:.0f} %" for s in sparsities) + " |"
    lines = [head, "|---" * (len(sparsities) + 1) + "|"]
    if dense and ("dense", 0.0) in vals:
        cell = fmt_mean_sd(vals[("dense", 0.0)], digits, scale)
        lines.append("| dense | " + " | ".join([cell] * len(sparsities)) + " |")
    for m in methods:
        cells = [
            fmt_mean_sd(vals[(m, round(s, 6))], digits, scale) if (m, round(s, 6)) in vals else "-"
            for s in sparsities
        ]
        lines.append(f"| {LABELS.get(m, m)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def earlier_commands(out_dir: Path) -> list[str]:
    """The command lines of an earlier ``report.md`` in ``out_dir`` (for a resumed study)."""
    path = out_dir / "report.md"
    if not path.exists():
        return []
    return [ln for ln in path.read_text().splitlines() if ln.startswith(("- command", "- resumed"))]


def write_report(
    out_dir: Path, title: str, sections: list[str], device, started: float, resumed=()
) -> Path:
    """``report.md``: title, where and how it ran, then the sections. ``resumed``: the
    command lines of the earlier runs whose rows the study kept."""
    info = machine()
    head = [
        f"# {title}",
        "",
        f"- commit: `{git_commit()}`",
        f"- device: {device.type} ({info['processor']}"
        + (f"; {torch.cuda.get_device_name(device)}" if device.type == "cuda" else "")
        + f"), torch {info['torch']}, {torch.get_num_threads()} torch thread(s)",
        f"- command: `python {shlex.join(sys.argv)}`",
        *[
            ln if ln.startswith("- resumed") else "- resumed rows of: " + ln.split(": ", 1)[1]
            for ln in resumed
        ],
        f"- wall time: {time.perf_counter() - started:.0f} s; load average at the end {loadavg()}",
        "",
    ]
    path = out_dir / "report.md"
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(head + sections) + "\n")
    return path


class PriorAnnealedPruner(Pruner):
    """The prior annealing of the sparse-RNN paper (Zhang, Sun & Liang 2023) as a step hook.

    For the first ``anneal_steps`` optimiser steps the gradient of the scaled negative log
    prior ``w_t / n * d(-log pi_t)/dw`` is added to every targeted weight's gradient, with
    the prior weight ``w_t`` and the spike ``sigma0_t`` of
    :class:`bsdl.inference.PriorAnnealing` (steps in place of epochs: warm-up, ramp of the
    prior weight, annealing of sigma0 to ``prior.sigma0``). At step ``anneal_steps`` the
    weights are pruned once to ``final_sparsity`` by magnitude (the ranking of the
    posterior inclusion probability, which is monotone in ``|w|``; the share is the target
    rather than ``q(w) > 1/2``), and the rest is fine-tuning with the mask fixed and no prior,
    as the paper's refit.
    """

    def __init__(
        self,
        model,
        final_sparsity,
        total_steps,
        n_obs: int,
        *,
        prior: MixtureGaussianPrior,
        anneal_steps: int,
        annealing: PriorAnnealing | None = None,
        **options,
    ) -> None:
        if not 0 < anneal_steps < total_steps - 1:
            raise ValueError(f"anneal_steps must be in (0, {total_steps - 1}), got {anneal_steps}")
        super().__init__(
            model,
            final_sparsity,
            total_steps,
            initial_sparsity=final_sparsity,
            initial_warmup=anneal_steps,
            final_warmup=total_steps - anneal_steps - 1,
            pruning_interval=1,
            **options,
        )
        self.n_obs = int(n_obs)
        self.prior = prior
        self.anneal_steps = int(anneal_steps)
        self.annealing = annealing or PriorAnnealing(warmup=0.0, ramp=0.3, anneal=0.5)

    @torch.no_grad()
    def _before_update(self, t: int) -> None:
        if t >= self.anneal_steps:
            return
        p0 = self.prior
        state = self.annealing.at(float(t), self.anneal_steps, p0.sigma0, p0.sigma1)
        if state.prior_weight == 0.0:
            return
        prior = MixtureGaussianPrior(p0.lambda_, state.sigma0, p0.sigma1)
        for p in self._params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            prior.add_grad_(p.detach(), p.grad, state.prior_weight / self.n_obs)

    def _scores(self) -> list[torch.Tensor]:
        return [p.detach().abs() for p in self._params]


def magnitude_cut(weights: list[torch.Tensor], sparsity: float) -> float:
    """The ``sparsity`` quantile of ``|w|`` over ``weights`` (a fixed subsample of at most a
    million values)."""
    flat = torch.cat([w.detach().abs().flatten().float() for w in weights])
    gen = torch.Generator().manual_seed(0)
    return float(torch.quantile(flat[torch.randperm(len(flat), generator=gen)[:1_000_000]],
                                sparsity))  # fmt: skip


def spike_with_threshold(lam: float, sigma1: float, threshold: float) -> MixtureGaussianPrior:
    """The prior ``(lam, sigma0, sigma1)`` whose threshold is ``threshold`` (bisection on
    ``sigma0``: the threshold is increasing in it)."""
    lo, hi = 1e-8, sigma1 / 2
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        if MixtureGaussianPrior(lam, mid, sigma1).threshold < threshold:
            lo = mid
        else:
            hi = mid
    return MixtureGaussianPrior(lam, math.sqrt(lo * hi), sigma1)


def spike_for_cut(
    weights: list[torch.Tensor], sparsity: float, lam: float, sigma1: float
) -> MixtureGaussianPrior:
    """The prior of weight ``lam`` whose threshold is the ``sparsity`` magnitude cut of
    ``weights``."""
    return spike_with_threshold(lam, sigma1, magnitude_cut(weights, sparsity))


def calibrated_prior(
    weights: list[torch.Tensor], sparsity: float, sigma1: float, ratio: float = math.sqrt(50.0)
) -> MixtureGaussianPrior:
    """A prior whose threshold at the start of the annealing (spike ``ratio * sigma0``) is the
    ``sparsity`` quantile of ``|w|`` of the trained dense weights, with ``lambda_ = 1 -
    sparsity``: the ramp pulls toward zero the weights that the target would prune."""
    start = spike_for_cut(weights, sparsity, 1.0 - sparsity, sigma1)
    return MixtureGaussianPrior(start.lambda_, start.sigma0 / ratio, sigma1)
