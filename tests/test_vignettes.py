"""Smoke tests of the vignettes: each runs end to end in quick mode and writes its report.

A vignette is a jupytext percent-format script under ``vignettes/``. In quick mode
(``BSDL_QUICK=1``) it runs a tiny version of its study; ``BSDL_VIGNETTE_OUT`` redirects its
output folder (``<BSDL_VIGNETTE_OUT>/<vignette name>/``). Adding a vignette is one entry in
``VIGNETTES``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
                for design in ("linear AR", "nonlinear AR", "even AR")
                for method in ("bsdl", "AIC", "BIC", "global AIC", "global BIC")
            ),
            # the real-series table
            *(
                f"| sunspots | 309 | {method} |"
                for method in ("bsdl", "AIC", "BIC", "global AIC", "global BIC")
            ),
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
        row_prefixes=(
            *(
                f"| 90% | {method} |"
                for method in (
                    "bsdl",
                    "hybrid",
                    "conformalized",
                    "split",
                    "aci",
                    "agaci",
                    "enbpi",
                    "spci",
                    "autoreg",
                    "garch",
                )
            ),
            # the return-series table (quick mode: the last 400 S&P 500 returns)
            *(
                f"| sp500 | 90% | {method} |"
                for method in ("bsdl", "bsdl-het", "garch", "aci", "hybrid", "hybrid-het")
            ),
        ),
    ),
    Vignette(
        "05_local_traps_and_calibration.py",
        header="| design | method | exact recovery | no. selected | BIC |",
        row_prefixes=(
            *(
                f"| {design} | {method} |"
                for design in ("regression", "classification")
                for method in (
                    "(a) SGD, prior from start",
                    "(b) annealed Adam (default)",
                    "(b') annealed SGD",
                    "(c) annealed SGHMC",
                    "(b) + posterior",
                )
            ),
            # posterior vs asymptotic intervals at the quick-mode n
            "| 300 | asymptotic |",
            "| 300 | posterior |",
        ),
    ),
    Vignette(
        "07_sparse_transformer.py",
        header="| design | n | method | exact lag set | correct order |",
        row_prefixes=(
            *(
                f"| {design} | 300 | {method} |"
                for design in ("linear AR", "nonlinear AR", "even AR")
                for method in ("transformer", "RNN", "global BIC")
            ),
            # the real-series table: sunspots, 247 training and 62 held-out points
            *(
                f"| sunspots | 247 | 62 | {method} |"
                for method in ("transformer", "RNN", "global BIC")
            ),
        ),
    ),
]


# Vignette 01's optional baselines (bench extra): a row at n = 500 when the package is
# installed, else the report's note that it was skipped.
OPTIONAL_BASELINES = {"01_variable_selection": {"LassoNet": "lassonet", "laplace-torch": "laplace"}}


@pytest.mark.parametrize("vignette", VIGNETTES, ids=lambda v: v.name)
def test_vignette_quick_mode(vignette: Vignette, tmp_path):
    env = dict(os.environ, BSDL_QUICK="1", BSDL_VIGNETTE_OUT=str(tmp_path), MPLBACKEND="Agg")
    # One intra-op thread: on a small shared machine torch's default threading can be an order
    # of magnitude slower; an explicit setting by the caller wins.
    env.setdefault("OMP_NUM_THREADS", "1")
    # quick mode must use its own grid and never reuse cached fits
    for key in ("BSDL_VIGNETTE_NS", "BSDL_VIGNETTE_REPS", "BSDL_VIGNETTE_CACHE"):
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
    for method, package in OPTIONAL_BASELINES.get(vignette.name, {}).items():
        if importlib.util.find_spec(package) is None:
            assert f"{method} not run: the package `{package}` is not installed" in text
        else:
            assert any(line.startswith(f"| 500 | {method} |") for line in lines), method
    pngs = sorted(out.glob("*.png"))
    assert pngs, f"no PNG written in {out}"
    assert all(p.stat().st_size > 0 for p in pngs)
    # the final table is printed to stdout too
    assert vignette.header in proc.stdout


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(VIGNETTE_DIR))
    import _common

    return _common


def test_code_digest_ignores_docstrings_and_comments_only(common, tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""Doc."""\n\ndef g(x):\n    """Doc."""\n    return x + 1  # one\n')
    before = common._code_digest(f)
    f.write_text('"""Other doc."""\n\n\ndef g(x):\n    """New."""\n    # note\n    return x + 1\n')
    assert common._code_digest(f) == before
    f.write_text('"""Doc."""\n\ndef g(x):\n    """Doc."""\n    return x + 2\n')
    assert common._code_digest(f) != before


def test_fit_cache_round_trip_and_key_check(common, tmp_path, monkeypatch):
    script = tmp_path / "v.py"
    script.write_text("x = 1\n")
    monkeypatch.delenv("BSDL_VIGNETTE_CACHE", raising=False)
    off = common.FitCache("v", script)
    assert off.get({"n": 1}) is None
    off.put({"n": 1}, [{"a": 1.0}])  # no-op when off
    assert off.get({"n": 1}) is None and off.note() == []

    monkeypatch.setenv("BSDL_VIGNETTE_CACHE", str(tmp_path / "cache"))
    cache = common.FitCache("v", script)
    key = {"design": "AR", "n": 200, "rep": 3}
    assert cache.get(key) is None
    cache.put(key, [{"method": "bsdl", "exact": 1.0, "order": np.int64(3), "x": float("nan")}])
    again = common.FitCache("v", script)
    rows = again.get(dict(reversed(list(key.items()))))  # key order does not matter
    assert rows[0]["order"] == 3 and rows[0]["method"] == "bsdl" and np.isnan(rows[0]["x"])
    assert again.get({**key, "rep": 4}) is None
    assert "1 of 1 fits were reused" in again.note()[0]
    # other vignette code: other fingerprint, nothing reused
    script.write_text("x = 2\n")
    assert common.FitCache("v", script).get(key) is None
