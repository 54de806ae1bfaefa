"""compare_intervals, the ``bsdl compare`` command line and bench/intervals.py (quick)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _bench_runner import run_quick

from bsdl import SparseRNN
from bsdl.cli import main
from bsdl.compare import (
    METHODS,
    OneStepForecaster,
    compare_intervals,
    comparison_table,
    write_report,
)
from bsdl.datasets import make_ar

QUICK = dict(lags=4, window=4, n_epochs=30)


@pytest.fixture(scope="module")
def series():
    return make_ar(300, {1: 0.6, 2: -0.3}, random_state=3)


@pytest.fixture(scope="module")
def compared(series):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare_intervals(
            {"ar2": series},
            alpha=[0.1, 0.2],
            rnn_params=QUICK,
            n_bootstraps=3,
            random_state=0,
            return_intervals=True,
        )


def test_every_method_and_level_gets_a_row(compared):
    frame, intervals = compared
    assert len(frame) == len(METHODS) * 2
    assert set(frame.method) == set(METHODS)
    assert frame[["coverage", "width", "interval_score", "seconds"]].notna().all().all()
    assert frame.coverage.between(0, 1).all() and (frame.width > 0).all()
    # 300 points: 180 train, 60 calibration, 60 test; bsdl, the hybrid, EnbPI, AutoReg and
    # GARCH need no calibration set and fit on train + calibration (240 points)
    assert set(frame.n_test) == {60}
    no_cal = frame.method.isin(["bsdl", "hybrid", "enbpi", "autoreg", "garch"])
    assert set(frame.n_calibration[no_cal]) == {0} and set(frame.n_fit[no_cal]) == {240}
    assert set(frame.n_calibration[~no_cal]) == {60} and set(frame.n_fit[~no_cal]) == {180}
    key = ("ar2", frame.seed[0], 0.1, "split")
    assert list(intervals[key].columns) == ["y", "mean", "lower", "upper"]
    assert len(intervals[key]) == 60


def test_calibrated_methods_share_one_fit(compared):
    # split, ACI, ... all wrap the one training-span fit: same centre on the test span
    frame, intervals = compared
    seed = frame.seed[0]
    centre = intervals[("ar2", seed, 0.1, "split")]["mean"].to_numpy()
    for method in ("conformalized", "aci", "agaci", "spci"):
        np.testing.assert_allclose(intervals[("ar2", seed, 0.1, method)]["mean"], centre)


def test_no_look_ahead(series):
    # changing the series after a test position must not change any interval before it
    y = np.asarray(series, dtype=float)
    changed = y.copy()
    changed[280:] += 5.0
    kwargs = dict(alpha=0.1, rnn_params=QUICK, n_bootstraps=3, return_intervals=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, a = compare_intervals({"s": y}, **kwargs)
        _, b = compare_intervals({"s": changed}, **kwargs)
    for key, frame in a.items():
        other = b[key]
        before = frame.index < 280  # test span starts at 240
        np.testing.assert_allclose(frame.loc[before, "lower"], other.loc[before, "lower"])
        np.testing.assert_allclose(frame.loc[before, "upper"], other.loc[before, "upper"])
        assert not np.allclose(frame.loc[~before, "upper"], other.loc[~before, "upper"])


def test_enbpi_skipped_when_the_series_is_too_short_for_its_blocks():
    y = make_ar(120, {1: 0.5}, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = compare_intervals(
            {"s": y}, methods=["enbpi"], alpha=0.1, rnn_params=dict(lags=10, n_epochs=5)
        )
    # 120 points: 96 fitting points, 79 rows after lags + window - 1 = 17, blocks of 18
    assert frame.coverage.isna().all()
    assert "bootstrap blocks" in frame.note[0]


def test_levels_are_nested(compared):
    # where the two levels read the same scores (normal quantiles, or order statistics of one
    # fixed score set), every 80 % interval lies inside the 90 % one; the adaptive methods
    # (ACI, AgACI, SPCI) follow level-specific paths, so nesting is not guaranteed for them
    frame, intervals = compared
    seed = frame.seed[0]
    for method in ("bsdl", "conformalized", "split", "enbpi", "autoreg", "garch"):
        wide = intervals[("ar2", seed, 0.1, method)]
        narrow = intervals[("ar2", seed, 0.2, method)]
        assert (narrow.lower >= wide.lower - 1e-12).all()
        assert (narrow.upper <= wide.upper + 1e-12).all()


def test_reproducible(series):
    kwargs = dict(methods=["bsdl", "split"], alpha=0.1, rnn_params=QUICK, random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = compare_intervals({"s": series}, **kwargs)
        b = compare_intervals({"s": series}, **kwargs)
    pd.testing.assert_frame_equal(
        a.drop(columns="seconds"), b.drop(columns="seconds"), check_exact=True
    )


def test_table_and_report(compared, tmp_path):
    frame, intervals = compared
    table = comparison_table(frame)
    bsdl_rows = table[table.method == "bsdl"]
    np.testing.assert_allclose(bsdl_rows.width_ratio, 1.0)
    path = write_report(frame, intervals, tmp_path)
    text = path.read_text()
    assert "| ar2 | 90% | bsdl |" in text
    assert (tmp_path / "comparison.csv").exists()
    assert (tmp_path / "intervals_ar2.png").stat().st_size > 0


def test_one_step_forecaster_matches_the_model(series):
    y = np.asarray(series)
    f = OneStepForecaster(SparseRNN(random_state=0, **QUICK), y).fit(np.arange(200), y[:200])
    direct = f.model_.predict(series=y).to_numpy()
    np.testing.assert_allclose(f.predict(np.arange(250, 260)), direct[250 - 7 : 260 - 7])
    with pytest.raises(ValueError, match="positions must lie in"):
        f.predict(np.array([2]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(methods=["bogus"]), "methods must be a non-empty subset"),
        (dict(train=1.5), "train must be a fraction"),
        (dict(train=0.7, calibration=0.4), "train \\+ calibration must be < 1"),
        (dict(alpha=1.5), "alpha"),
        (dict(n_seeds=0), "n_seeds"),
    ],
)
def test_bad_arguments(series, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_intervals({"s": series}, rnn_params=QUICK, **kwargs)


def test_too_short_series_and_bad_values():
    with pytest.raises(ValueError, match="each needs at least 20 points"):
        compare_intervals({"s": np.arange(60.0)}, rnn_params=QUICK, methods=["split"])
    y = np.ones(300)
    y[5] = np.nan
    with pytest.raises(ValueError, match="series 's' contains 1 non-finite"):
        compare_intervals({"s": y}, rnn_params=QUICK)
    with pytest.raises(ValueError, match="must be 1-D"):
        compare_intervals(np.ones((300, 2)), rnn_params=QUICK)
    with pytest.raises(ValueError, match="rnn_params must not hold random_state"):
        compare_intervals({"s": np.ones(300)}, rnn_params={"random_state": 1})
    with pytest.raises(ValueError, match="series name must be one of"):
        compare_intervals(["no_such_series"], rnn_params=QUICK)


def test_cli_compare_prints_the_table(capsys, tmp_path):
    code = main(
        ["compare", "--series", "nile", "--quick", "--methods", "bsdl", "split", "aci"]
        + ["--alpha", "0.1", "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "coverage" in out and "nile" in out and "aci" in out
    assert (tmp_path / "comparison.md").exists()


def test_cli_passes_noise_and_innovations_to_the_forecaster(monkeypatch, capsys):
    import bsdl.compare

    seen = {}
    real = bsdl.compare.compare_intervals

    def spy(*args, **kwargs):
        seen.update(kwargs["model_params"])
        return real(*args, **kwargs)

    monkeypatch.setattr(bsdl.compare, "compare_intervals", spy)
    argv = ["compare", "--series", "nile", "--quick", "--methods", "bsdl", "--alpha", "0.1"]
    assert main(argv + ["--noise", "heteroscedastic", "--innovations", "normal"]) == 0
    assert seen == {"n_epochs": 60, "noise": "heteroscedastic", "innovations": "normal"}
    seen.clear()
    assert main(argv) == 0  # the defaults: nothing passed, the forecaster's own defaults
    assert seen == {"n_epochs": 60}
    with pytest.raises(SystemExit):
        main(argv + ["--innovations", "cauchy"])
    assert "--innovations" in capsys.readouterr().err


def test_cli_reports_bad_input(capsys):
    assert main(["compare", "--series", "nile", "--alpha", "2", "--quick"]) == 2
    assert "alpha" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "--series", "not_a_series"])


def test_intervals_bench_quick_runs(tmp_path):
    stdout, result = run_quick("intervals.py", tmp_path)
    assert "ratio EnbPI(B=3)/bsdl time on make_ar(n=300):" in stdout
    assert "| data | n (test) |" in stdout
    rows = result["rows"]
    assert rows[0]["bootstraps"] == 3 and rows[0]["ratio"] > 0


def test_metrics_are_read_from_the_intervals(compared):
    # each row's numbers equal the metric functions applied to the stored bounds
    from bsdl.conformal.metrics import interval_metrics

    frame, intervals = compared
    for row in frame.itertuples():
        iv = intervals[(row.series, row.seed, row.alpha, row.method)]
        m = interval_metrics(iv["y"], iv["lower"], iv["upper"], row.alpha)
        assert row.coverage == m["coverage"]
        assert row.width == pytest.approx(m["width"], rel=1e-12)
        assert row.interval_score == pytest.approx(m["interval_score"], rel=1e-12)


def test_one_step_forecaster_gives_prediction_intervals(series):
    from scipy.stats import norm, t

    from bsdl.results import Intervals, PredictionIntervals

    y = np.asarray(series)
    f = OneStepForecaster(SparseRNN(random_state=0, **QUICK), y).fit(np.arange(200), y[:200])
    pos = np.arange(250, 260)
    pi = f.predict_interval(pos, alpha=0.1)
    assert isinstance(pi, PredictionIntervals) and isinstance(pi, Intervals)
    assert list(pi.index) == list(pos) and pi.alpha == 0.1
    direct = f.model_.predict_interval(series=y, alpha=0.1)
    np.testing.assert_allclose(pi.mean, direct.mean[250 - 7 : 260 - 7], rtol=1e-6)
    np.testing.assert_allclose(pi.se, direct.se[250 - 7 : 260 - 7], rtol=1e-6)
    # the model's critical value is kept: Student-t with its residual df, or the normal
    assert pi.df == direct.df and pi.link == direct.link == "identity"
    z = norm.ppf(0.95) if pi.df is None else t.ppf(0.95, pi.df)
    np.testing.assert_allclose(pi.lower, pi.mean - z * pi.se, rtol=1e-12)
    np.testing.assert_allclose(pi.upper, pi.mean + z * pi.se, rtol=1e-12)
    with pytest.raises(ValueError, match="alpha"):
        f.predict_interval(pos, alpha=1.5)


def test_autoreg_rows_are_statsmodels_forecast_intervals(series, compared):
    # independent answer from statsmodels alone: its own global BIC search on the 240 fitting
    # points (QUICK's lags=4: all 16 subsets of 1..4) and its AutoReg fit there; the one-step
    # forecast from every test origin t by that fit (apply to y[:t], parameters kept), and the
    # half-width of the fit's own one-step forecast interval (get_prediction(...).conf_int at
    # the end of the fitting span). The half-width is not read from apply(y[:t]): apply
    # re-estimates sigma2 on the data it is given, which would include the test values.
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    frame, intervals = compared
    y = np.asarray(series, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lags = ar_select_order(y[:240], maxlag=4, ic="bic", glob=True, trend="c").ar_lags
        res = AutoReg(y[:240], lags, trend="c").fit()
        centre = np.array(
            [
                res.apply(y[:t], refit=False).forecast(1)[0]  # from the past of t only
                for t in range(240, 300)
            ]
        )
        for alpha in (0.1, 0.2):
            first = res.get_prediction(start=240, end=240)
            lo, hi = np.asarray(first.conf_int(alpha=alpha))[0]
            got = intervals[("ar2", frame.seed[0], alpha, "autoreg")]
            np.testing.assert_allclose(got["mean"], centre, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(got["lower"], centre - (hi - lo) / 2, rtol=1e-9)
            np.testing.assert_allclose(got["upper"], centre + (hi - lo) / 2, rtol=1e-9)
            np.testing.assert_allclose(got[["lower", "upper"]].iloc[0], [lo, hi], rtol=1e-9)
            np.testing.assert_allclose(got["y"], y[240:])
    rows = frame[frame.method == "autoreg"]
    assert set(rows.note) == {f"lags {{{', '.join(map(str, lags))}}} (global BIC search over 1..4)"}


def test_autoreg_uses_the_contiguous_bic_order_beyond_12_candidate_lags(series):
    # 14 candidate lags: 2**14 subsets is past the 'auto' limit, so the contiguous BIC order
    # (statsmodels' ar_select_order without glob) is used; no SparseRNN is fitted
    from statsmodels.tsa.ar_model import ar_select_order

    y = np.asarray(series, dtype=float)
    frame = compare_intervals(
        {"s": y}, methods=["autoreg"], alpha=0.1, rnn_params=dict(lags=14, window=4)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        order = ar_select_order(y[:240], maxlag=14, ic="bic", trend="c").ar_lags
    lags = ", ".join(map(str, order or [])) or "none"
    assert list(frame.note) == [f"lags {{{lags}}} (contiguous BIC search over 1..14)"]
    assert list(frame.method) == ["autoreg"] and frame.coverage.notna().all()
