"""Smoke test of bench/sparse_inference.py: its quick mode runs, checks that every exported
variant gives the dense outputs (inside the script) and prints its tables and ratio lines
(no timing checks)."""

from __future__ import annotations

import json
import subprocess
import sys

from _bench_runner import ROOT, run_quick

from bsdl.pruning.export_fused import fused_available
from bsdl.pruning.sparse_kernels import available_formats


def test_sparse_inference_quick_runs(tmp_path):
    stdout, result = run_quick("sparse_inference.py", tmp_path)
    assert "| model | sparsity | batch | threads | dense ms |" in stdout
    assert "ratio dense/exported Linear stack 128 s=0.9 batch=1 threads=1:" in stdout
    assert "ratio dense/exported LSTM 64 (16 steps) s=0.5 batch=1 threads=1:" in stdout
    assert "summary: 4 cases" in stdout
    rows = result["rows"]
    assert [(r["model"], r["structured"]) for r in rows] == [
        ("Linear stack 128", False),
        ("Linear stack 128", True),
        ("LSTM 64 (16 steps)", False),
        ("LSTM 64 (16 steps)", True),
    ]
    for r in rows:
        fused = {"fused"} if fused_available() else set()
        expected = {"structured"} if r["structured"] else {*available_formats(), *fused, "auto"}
        assert set(r["speedup"]) == expected
        assert all(v > 0 for v in r["speedup"].values())
        # structured: half the hidden units gone, so the stored bytes fall below 0.6 (the
        # stack: one layer's rows and the next one's columns halved, biases kept)
        if r["structured"]:
            assert r["memory"]["structured"] < 0.6


def test_case_filters_select_rows(tmp_path):
    out = tmp_path / "lstm.json"
    cmd = [sys.executable, str(ROOT / "bench" / "sparse_inference.py"), "--quick"]
    cmd += ["--models", "lstm1024", "--no-structured", "--json", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [(r["model"], r["structured"]) for r in rows] == [("LSTM 64 (16 steps)", False)]
    assert "summary: 1 cases" in proc.stdout
