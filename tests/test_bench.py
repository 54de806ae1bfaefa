"""Smoke test of the benchmark script: it runs and prints its ratio lines (no timing checks)."""

from __future__ import annotations

from _bench_runner import run_quick

RATIO_LINES = (
    "ratio bsdl(ConstantSchedule)/plain:",
    "ratio bsdl(PriorAnnealing)/plain:",
    "ratio naive-prior-loop/plain:",
    "ratio predict_interval/fit:",
    "summary: bsdl/plain max",
)


def test_overhead_quick_runs(tmp_path):
    stdout, result = run_quick("overhead.py", tmp_path)
    for line in RATIO_LINES:
        assert line in stdout, f"missing {line!r} in:\n{stdout}"
    assert "torch.get_num_threads()=" in stdout
    assert "| config | steps/epoch | threads | optimizer |" in stdout

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


def test_scale_quick_runs(tmp_path):
    stdout, result = run_quick("scale.py", tmp_path)
    assert "| model | data | n | rows | epochs (train + refit) |" in stdout
    for label in ("SparseMLPRegressor", "SparseRNN"):
        assert f"slope {label}:" in stdout, stdout
    assert "summary: " in stdout
    assert set(result["runs"]) == {"mlp", "rnn"}
    for kind, sizes in (("mlp", [200, 400]), ("rnn", [300, 600])):
        rows = result["runs"][kind]
        assert [r["n"] for r in rows] == sizes
        for r in rows:
            if kind == "mlp":
                assert r["rows"] == r["n"]  # one epoch goes through every sample
            # the steps column is epochs x ceil(rows / batch), as the defaults define it
            assert r["steps"] == r["epochs"] * -(-r["rows"] // r["batch_size"])
            assert all(s > 0 for s in r["seconds"]) and r["median_seconds"] > 0
    assert set(result["slopes"]) == {"SparseMLPRegressor", "SparseRNN"}


def test_transformer_quick_runs(tmp_path):
    stdout, result = run_quick("transformer.py", tmp_path)
    assert "| design | method | fit s (median) | / SparseRNN |" in stdout
    for method in ("sparse_transformer", "dense_lagtransformer", "dense_torch"):
        assert f"ratio {method}/sparse_rnn fit:" in stdout, stdout
    assert "rmse sparse_transformer/sparse_rnn:" in stdout and "summary: " in stdout
    assert result["config"]["mode"] == "quick" and result["config"]["threads"] == 1
    [run] = result["runs"]  # quick: linear AR, n = 300, one seed
    assert run["design"] == "linear AR" and run["n"] == 300
    for method in ("sparse_transformer", "sparse_rnn", "dense_lagtransformer", "dense_torch"):
        assert run[method]["seconds"] > 0
        assert 0 < run[method]["rmse"] < 10, method  # unit innovations: RMSE near 1
    # the dense loops take the sparse transformer's optimiser steps
    assert run["dense_lagtransformer"]["optimizer_steps"] > 0
    assert run["dense_torch"]["optimizer_steps"] == run["dense_lagtransformer"]["optimizer_steps"]
    assert {r["method"] for r in result["summary"]} == {
        "sparse_transformer",
        "sparse_rnn",
        "dense_lagtransformer",
        "dense_torch",
        "autoreg",
    }
