"""Smoke test of bench/sampling.py: its quick mode runs and prints its tables and ratio
lines (no timing checks; the sampled means are checked against each other loosely)."""

from __future__ import annotations

import importlib.util

import numpy as np
from _bench_runner import run_quick


def test_sampling_bench_quick_runs(tmp_path):
    stdout, result = run_quick("sampling.py", tmp_path)
    assert "| data | weights | SGD batch | SGD epochs/s | SGHMC draws/s |" in stdout
    assert "ratio SGHMC draws/s over SGD epochs/s:" in stdout
    assert "ratio ESS/s bsdl SGHMC over NUTS:" in stdout
    part1 = result["draws_vs_epochs"]
    assert part1["sgd_epoch_s"] > 0 and part1["sghmc_draw_s"] > 0
    assert part1["estimator_draws"] == 40  # 2 chains x 20 draws in quick mode
    samplers = [r["sampler"] for r in result["tiny"]]
    assert samplers[:2] == ["bsdl sghmc", "bsdl nuts"]
    if importlib.util.find_spec("posteriors") is not None:
        assert samplers[2].startswith("posteriors sghmc (c=")
        assert samplers[3].startswith("posteriors sghmc, whitened")
        assert "ratio ESS/s bsdl SGHMC over posteriors sghmc" in stdout
    else:
        assert "posteriors not run" in stdout
    # every sampler is on the same target: the weights' means agree within a few posterior sd
    # (short quick-mode chains, so only a loose check that nothing is on another scale)
    ref = np.asarray(result["tiny"][1]["mean"])
    sd = np.asarray(result["tiny"][1]["sd"])
    for r in result["tiny"]:
        assert r["ess_min"] > 0
        assert np.all(np.abs(np.asarray(r["mean"]) - ref) < 4 * sd + 0.05)
