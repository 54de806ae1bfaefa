"""Smoke test of bench/rnn.py: it runs and prints its ratio lines (no timing checks)."""

from __future__ import annotations

from _bench_runner import run_quick

LINES = (
    "ratio bsdl/plain-lstm:",
    "ratio bsdl/plain-lagrnn-lstm:",
    "ratio plain-lagrnn/plain-lstm:",
    "ratio bsdl/AutoReg:",
    "ratio bsdl/ar_select_order:",
    "one-step intervals (",
    "12-step forecast interval:",
    "summary: bsdl/plain",
    "torch.get_num_threads()=1",
    "| data | cell | windows | batch |",
)


def test_rnn_bench_quick_runs(tmp_path):
    stdout, result = run_quick("rnn.py", tmp_path)
    for line in LINES:
        assert line in stdout, f"missing {line!r} in:\n{stdout}"

    assert {"machine", "config", "statsmodels", "runs"} <= set(result)
    assert result["config"]["mode"] == "quick"
    assert result["config"]["threads"] == 1
    assert result["machine"]["torch_num_threads"] == 1
    [run] = result["runs"]  # quick: make_ar(n=400), lstm only
    assert run["cell"] == "lstm" and run["n"] == 400
    assert run["n_epochs"] == 20
    assert (
        run["optimizer_steps"] == (run["n_epochs"] + run["refit_epochs"]) * run["steps_per_epoch"]
    )
    for key in (
        "fit_seconds",
        "anneal_seconds",
        "plain_seconds",
        "plain_lagrnn_seconds",
        "autoreg_seconds",
        "ar_select_order_seconds",
        "one_step_seconds",
        "forecast_seconds",
        "ratio_bsdl_plain",
        "ratio_bsdl_plain_lagrnn",
        "ratio_bsdl_autoreg",
        "ratio_bsdl_ar_select_order",
        "ratio_one_step_fit",
        "ratio_forecast_fit",
    ):
        assert run[key] > 0, key
    assert run["one_step_points"] > 0
    assert run["forecast_steps"] == 12
    assert set(run["train_loss"]) == {"bsdl", "plain", "plain_lagrnn"}
