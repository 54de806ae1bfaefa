"""Is any ACI-type interval on bsdl's fit systematically narrower than ACI? (issue 15)

Issue 15 asks the hybrid (:class:`bsdl.conformal.AdaptiveAsymptotic`) to be within the
binomial band on every series of vignette 04 with a width at most ACI's. This script puts
the hybrid beside the other ways of giving an ACI-type interval bsdl's standard error as
its scale, all on the same series, split, seeds and fits as vignette 04
(``compare_intervals`` with ``random_state=0``):

- ``hybrid``: bsdl's fit on train + calibration, ``f -+ c(alpha_t) se`` with aggregated
  levels (the library's hybrid, from ``compare_intervals``);
- ``aci``, ``agaci``: ACI (gamma 0.01) and AgACI on absolute residuals of the fit on the
  training span, calibrated on the calibration span (from ``compare_intervals``);
- ``aci-scaled``, ``agaci-scaled``: the same two on bsdl's studentized residuals
  ``|y - f| / se`` (``score="scaled"``): a conformal start from the calibration span and
  the level moved online, with bsdl's se as the scale. The script refits the training-span
  model with the seed ``compare_intervals`` used and checks that its absolute-score ACI
  reproduces the ``aci`` row exactly before it reports the scaled ones.

Run: ``OMP_NUM_THREADS=1 python bench/diagnostics/hybrid_width.py OUT.csv [series,...]``;
it prints, per level, coverage and width over ACI's per series and how many series each
method has within the band (2 binomial se) and no wider than ACI. Not run by the tests.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from bsdl import SparseRNN
from bsdl.compare import OneStepForecaster, compare_intervals
from bsdl.conformal import ACI, AgACI
from bsdl.datasets import REAL_SERIES, RETURN_SERIES, load_series, make_ar, make_nonlinear_ar

ALPHAS = [0.1, 0.05]
MAX_LENGTH = 1500
TRAIN, CALIBRATION = 0.6, 0.2  # compare_intervals' defaults, as in vignette 04
LAGS = 10


def all_series() -> dict[str, pd.Series]:
    series = {n: load_series(n) for n in REAL_SERIES}
    series |= {n: load_series(n) for n in RETURN_SERIES}
    series["sim_linear_ar"] = pd.Series(make_ar(1500, random_state=11))
    series["sim_nonlinear_ar"] = pd.Series(make_nonlinear_ar(1500, random_state=12))
    return series


def scaled_rows(name: str, y: np.ndarray, seed: int, aci_rows: pd.DataFrame) -> list[dict]:
    y = y[-MAX_LENGTH:]
    n_train, n_cal = int(round(TRAIN * y.size)), int(round(CALIBRATION * y.size))
    pos = np.arange(y.size)
    cal, test = pos[n_train : n_train + n_cal], pos[n_train + n_cal :]
    fitted = OneStepForecaster(SparseRNN(random_state=seed, lags=LAGS), y)
    fitted.fit(pos[:n_train], y[:n_train])
    rows = []
    for alpha in ALPHAS:
        methods = {
            "aci-check": ACI(fitted, prefit=True, gamma=0.01, window=n_cal),
            "aci-scaled": ACI(fitted, prefit=True, gamma=0.01, window=n_cal, score="scaled"),
            "agaci-scaled": AgACI(fitted, prefit=True, window=n_cal, score="scaled"),
        }
        for method, est in methods.items():
            iv = est.calibrate(cal, y[cal]).predict_online(test, y[test], alpha)
            row = dict(series=name, alpha=alpha, method=method, n_test=test.size)
            row |= dict(coverage=iv.coverage(y[test]), width=float(np.mean(iv.width)))
            if method == "aci-check":
                ref = aci_rows[aci_rows.alpha == alpha].iloc[0]
                if not np.isclose(row["width"], ref.width, rtol=1e-10):
                    raise SystemExit(
                        f"{name}: the refitted ACI's width {row['width']} is not "
                        f"compare_intervals' {ref.width}: the replica differs"
                    )
                continue
            rows.append(row)
    return rows


def summary(df: pd.DataFrame) -> str:
    out = []
    for alpha in ALPHAS:
        d = df[df.alpha == alpha]
        cov = d.pivot_table(index="series", columns="method", values="coverage")
        wid = d.pivot_table(index="series", columns="method", values="width")
        n = d.groupby("series").n_test.first()
        # coverage of n Bernoulli(1 - alpha) misses: binomial se sqrt(alpha (1 - alpha) / n)
        band = 2 * np.sqrt(alpha * (1 - alpha) / n)
        table = pd.DataFrame({"n_test": n})
        for m in [c for c in cov.columns if c != "aci"]:
            table[f"{m} coverage"] = cov[m].round(3)
            table[f"{m} width/aci"] = (wid[m] / wid["aci"]).round(3)
        table["aci coverage"] = cov["aci"].round(3)
        out += [f"## {100 * (1 - alpha):.0f} %", "", table.to_string(), ""]
        for m in [c for c in cov.columns if c != "aci"]:
            inside = (cov[m] - (1 - alpha)).abs() <= band
            narrow = wid[m] <= wid["aci"]
            out.append(
                f"- {m}: within the band on {int(inside.sum())} of {len(n)}, width <= ACI's "
                f"on {int(narrow.sum())}, both on {int((inside & narrow).sum())}; median "
                f"width / ACI {float((wid[m] / wid['aci']).median()):.3f}"
            )
        out.append("")
    return "\n".join(out)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit(__doc__)
    series = all_series()
    names = argv[1].split(",") if len(argv) > 1 else list(series)
    rows: list[dict] = []
    for name in names:
        part = compare_intervals(
            {name: series[name]},
            methods=["hybrid", "aci", "agaci"],
            alpha=ALPHAS,
            max_length=MAX_LENGTH,
            n_jobs=1,
            random_state=0,
            rnn_params=dict(lags=LAGS),
        )
        rows += part[["series", "alpha", "method", "n_test", "coverage", "width"]].to_dict(
            "records"
        )
        aci = part[part.method == "aci"]
        rows += scaled_rows(name, series[name].to_numpy(float), int(part.seed.iloc[0]), aci)
        pd.DataFrame(rows).to_csv(argv[0], index=False)
        print(f"{name} done", flush=True)
    print(summary(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
