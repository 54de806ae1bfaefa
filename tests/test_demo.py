"""`make demo` (``python -m bsdl.demo``) runs end to end in its quick mode."""

from __future__ import annotations

import re

import numpy as np

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
