"""`make demo` (``python -m bsdl.demo``) runs end to end in its quick mode."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bsdl import demo


def test_demo_quick_writes_report_and_plot(tmp_path, capsys):
    assert demo.main(["--out", str(tmp_path), "--quick"]) == 0
    png = (tmp_path / "forecast.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Quick mode" in report and "n_restarts=1" in report
    # the held-out span and the forecast years continue the yearly index
    assert "held out: 1969-2008 (40 years)" in report
    years = [int(y) for y in re.findall(r"^\| (\d{4}) \|", report, flags=re.M)]
    assert years == list(range(1969, 1981))
    # coverage is a count over the 40 held-out years, and the printed line agrees
    hits, total = map(int, re.search(r"\((\d+) of (\d+) years", report).groups())
    coverage = float(re.search(r"Coverage (\d\.\d{3})", report).group(1))
    assert total == 40 and np.isclose(coverage, hits / total, atol=5e-4)
    assert f"coverage over 40 held-out years: {coverage:.3f}" in capsys.readouterr().out
    # forecast bounds on the original scale are ordered
    rows = re.findall(r"^\| \d{4} \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", report, flags=re.M)
    assert len(rows) == 12
    assert all(float(lo) <= float(mid) <= float(hi) for mid, lo, hi in rows)


def test_demo_quick_compares_with_autoreg(tmp_path):
    """The report's 'bsdl beside AutoReg' table: bsdl's row repeats its one-step RMSE and
    coverage, and the AutoReg rows equal statsmodels' AutoReg refitted here at the BIC
    order and at the global-BIC lags (an independent computation)."""
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    from bsdl.datasets import load_sunspots

    assert demo.main(["--out", str(tmp_path), "--quick"]) == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## bsdl beside AutoReg" in report
    assert "| model | lags | one-step RMSE | one-step 95 % coverage | path RMSE |" in report
    table = {
        m: (lags, float(a), float(b), float(c))
        for m, lags, a, b, c in re.findall(
            r"^\| (bsdl SparseRNN|AutoReg \([\w ]+\)) \| ([\d, ]*|none) \| ([\d.]+) \| "
            r"([\d.]+) \| ([\d.]+) \|$",
            report,
            flags=re.M,
        )
    }
    assert list(table) == ["bsdl SparseRNN", "AutoReg (BIC order)", "AutoReg (global BIC)"]
    rmse = float(re.search(r"RMSE of the one-step predictions (\d\.\d{3})", report).group(1))
    coverage = float(re.search(r"Coverage (\d\.\d{3})", report).group(1))
    assert table["bsdl SparseRNN"][1:3] == (rmse, coverage)

    y = np.sqrt(load_sunspots()).to_numpy()
    train, test = y[:-40], y[-40:]
    for label, glob in (("AutoReg (BIC order)", False), ("AutoReg (global BIC)", True)):
        lags = list(ar_select_order(train, maxlag=12, ic="bic", glob=glob).ar_lags)
        assert table[label][0] == ", ".join(map(str, lags))
        res = AutoReg(train, lags, trend="c").fit()
        one_step = res.apply(y, refit=False).predict(start=y.size - 40, end=y.size - 1)
        path = res.predict(start=train.size, end=train.size + 11)
        assert table[label][1] == pytest.approx(np.sqrt(np.mean((one_step - test) ** 2)), abs=6e-4)
        assert table[label][3] == pytest.approx(np.sqrt(np.mean((path - test[:12]) ** 2)), abs=6e-4)
        # 95 % one-step coverage as a count of 40 years
        assert round(table[label][2] * 40) == pytest.approx(table[label][2] * 40, abs=0.02)
    # the global search keeps a lag set with a gap that no order can give
    assert table["AutoReg (global BIC)"][0] == "1, 2, 9"
    assert "Ratio bsdl / AutoReg (global BIC)" in report
