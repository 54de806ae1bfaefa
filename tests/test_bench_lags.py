"""Smoke tests of the issue-14 bench scripts (seasonal, short series, lag-search cost, the
MLP's linear path) in quick mode (no timing checks): they run, print their tables and write
their JSON rows."""

from __future__ import annotations

import math

from _bench_runner import run_quick


def test_seasonal_bench_quick_runs(tmp_path):
    stdout, result = run_quick("seasonal.py", tmp_path)
    assert "| series | n (test) | candidate lags |" in stdout
    [row] = result["rows"]  # quick: nottem only
    assert row["series"] == "nottem" and row["n"] == 240 and row["n_test"] == 60
    # a monthly index: lags="auto" reaches lag 13 = 12 + 1 (5 * 13 <= 180 training months)
    assert row["candidate_lags"] == 13
    assert row["ar_search"] == "global"
    for model in ("bsdl", "hybrid", "autoreg"):
        cov = row[model]["coverage"]
        assert 0.0 <= cov <= 1.0
        assert math.isclose(row[model]["coverage_se"], math.sqrt(cov * (1 - cov) / 60))
    assert math.isclose(row["width_ratio"], row["bsdl"]["width"] / row["autoreg"]["width"])
    # the hybrid walks bsdl's own intervals: the same centre
    assert math.isclose(row["hybrid"]["rmse"], row["bsdl"]["rmse"])
    assert "hybrid (bsdl's interval at aggregated ACI levels)" in stdout


def test_short_series_bench_quick_runs(tmp_path):
    stdout, result = run_quick("short_series.py", tmp_path)
    assert "intercept-only failures:" in stdout
    [row] = result["rows"]  # quick: nile, seed 0
    assert row["series"] == "nile" and row["n"] == 100 and row["candidate_lags"] == 10
    # the global BIC choice is at least as good as the intercept-only model
    assert row["bic_drop"] >= 0
    assert row["failure"] == (row["bic_drop"] > 10 and not row["bsdl_lags"])


def test_lag_search_cost_bench_quick_runs(tmp_path):
    # quick: this tree against itself (no baseline checkout), one small fit each
    stdout, result = run_quick("lag_search_cost.py", tmp_path)
    assert "ratio this/baseline (linear):" in stdout
    assert {r["tree"] for r in result["rows"]} == {"this", "baseline"}
    s = result["summary"]["linear"]
    assert math.isclose(s["ratio"], s["this"] / s["baseline"])


def test_mlp_linear_path_bench_quick_runs(tmp_path):
    # quick: one small design, one replicate, both settings of skip on the same data
    stdout, result = run_quick("mlp_linear_path.py", tmp_path)
    assert "| p | n | skip | exact recovery |" in stdout
    assert {r["skip"] for r in result["rows"]} == {False, True}
    [s] = result["summary"]
    assert math.isclose(s["ratio"], s["skip_true"]["seconds"] / s["skip_false"]["seconds"])
    for row in result["rows"]:
        assert row["true"] + row["false"] == len(row["selected"])
        assert set(row["linear"]) <= set(row["selected"])
        assert row["skip"] or row["linear"] == []
