"""Smoke tests of the vignettes: each runs end to end in quick mode and writes its report.

A vignette is a jupytext percent-format script under ``vignettes/``. In quick mode
(``BSDL_QUICK=1``) it runs a tiny version of its study; ``BSDL_VIGNETTE_OUT`` redirects its
output folder (``<BSDL_VIGNETTE_OUT>/<vignette name>/``). Adding a vignette is one entry in
``VIGNETTES``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VIGNETTE_DIR = ROOT / "vignettes"


@dataclass(frozen=True)
class Vignette:
    script: str  # file name under vignettes/
    header: str  # the start of the results table's header line in report.md
    row_prefixes: tuple[str, ...]  # one expected table row start per quick-mode setting

    @property
    def name(self) -> str:
        return Path(self.script).stem


VIGNETTES = [
    Vignette(
        "01_variable_selection.py",
        header="| n | method | FSR | NSR | exact recovery |",
        row_prefixes=(
            "| 500 | bsdl |",
            "| 500 | Lasso |",
            "| 500 | dense MLP |",
            "| 1000 | bsdl |",
            "| 1000 | Lasso |",
            "| 1000 | dense MLP |",
        ),
    ),
    Vignette(
        "02_ar_order_selection.py",
        header="| design | n | method | exact lag set | correct order | mean order |",
        row_prefixes=(
            *(
                f"| {design} | 300 | {method} |"
                for design in ("linear AR", "nonlinear AR")
                for method in ("bsdl", "AIC", "BIC")
            ),
            "| sunspots | 309 | bsdl |",  # the real-series table
            "| sunspots | 309 | AIC |",
            "| sunspots | 309 | BIC |",
        ),
    ),
    Vignette(
        "03_asymptotic_normality.py",
        header="| design | n | level | one-step coverage | binomial se | replicate se |",
        row_prefixes=tuple(
            f"| {design} | {n} | {level} |"
            for design in ("AR(2)", "nonlinear AR")
            for n in (300, 600)
            for level in ("0.80", "0.90", "0.95")
        ),
    ),
    Vignette(
        "04_conformal_comparison.py",
        header="| level | method | within_band | below_band | best_interval_score |",
        row_prefixes=tuple(
            f"| 90% | {method} |"
            for method in ("bsdl", "conformalized", "split", "aci", "agaci", "enbpi", "spci")
        ),
    ),
]


@pytest.mark.parametrize("vignette", VIGNETTES, ids=lambda v: v.name)
def test_vignette_quick_mode(vignette: Vignette, tmp_path):
    env = dict(os.environ, BSDL_QUICK="1", BSDL_VIGNETTE_OUT=str(tmp_path), MPLBACKEND="Agg")
    # One intra-op thread: on a small shared machine torch's default threading can be an order
    # of magnitude slower; an explicit setting by the caller wins.
    env.setdefault("OMP_NUM_THREADS", "1")
    for key in ("BSDL_VIGNETTE_NS", "BSDL_VIGNETTE_REPS"):  # quick mode must use its own grid
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, str(VIGNETTE_DIR / vignette.script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"

    out = tmp_path / vignette.name
    report = out / "report.md"
    assert report.is_file(), f"no report.md in {out}: {sorted(p.name for p in out.iterdir())}"
    text = report.read_text(encoding="utf-8")
    assert vignette.header in text
    lines = text.splitlines()
    for prefix in vignette.row_prefixes:
        assert any(line.startswith(prefix) for line in lines), f"no row {prefix!r} in report.md"
    assert "Quick mode" in text
    pngs = sorted(out.glob("*.png"))
    assert pngs, f"no PNG written in {out}"
    assert all(p.stat().st_size > 0 for p in pngs)
    # the final table is printed to stdout too
    assert vignette.header in proc.stdout
