"""Smoke test of the benchmark script: it runs and prints its ratio lines (no timing checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "overhead.py"

RATIO_LINES = (
    "ratio bsdl(ConstantSchedule)/plain:",
    "ratio bsdl(PriorAnnealing)/plain:",
    "ratio naive-prior-loop/plain:",
    "ratio predict_interval/fit:",
    "summary: bsdl/plain max",
)


def test_overhead_quick_runs(tmp_path):
    out = tmp_path / "overhead.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in RATIO_LINES:
        assert line in proc.stdout, f"missing {line!r} in:\n{proc.stdout}"
    assert "torch.get_num_threads()=" in proc.stdout
    assert "| config | steps/epoch | threads | optimizer |" in proc.stdout

    result = json.loads(out.read_text())
    assert {"machine", "engine", "predict_interval"} <= set(result)
    assert result["engine"], "no engine rows"
    for row in result["engine"]:
        assert row["optimizer"] in ("adam", "sgd")
        assert set(row["seconds_per_epoch"]) == {
            "plain",
            "naive_prior",
            "bsdl_no_prior",
            "bsdl_constant",
            "bsdl_annealing",
        }
        assert all(v > 0 for v in row["seconds_per_epoch"].values())
    assert result["predict_interval"]["fit_seconds"] > 0
