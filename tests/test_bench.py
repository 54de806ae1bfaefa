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
