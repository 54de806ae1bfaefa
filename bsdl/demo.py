"""``make demo``: fit a sparse network on real data and write a report with figures.

Data: the diabetes data of Efron et al. (2004), shipped with scikit-learn (442 patients,
10 baseline covariates, a quantitative measure of disease progression one year later).
Nothing is downloaded.

Run ``python -m bsdl.demo --out out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import train_test_split

    from bsdl import SparseMLPRegressor
    from bsdl.datasets import load_diabetes
    from bsdl.plotting import plot_inclusion, plot_intervals

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_diabetes()
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=0.3, random_state=args.seed
    )
    print(
        f"diabetes: {len(X_train)} training and {len(X_test)} test patients, "
        f"{X_train.shape[1]} covariates"
    )
    t0 = time.perf_counter()
    model = SparseMLPRegressor(hidden_layer_sizes=(8, 4), n_restarts=3, random_state=args.seed).fit(
        X_train, y_train
    )
    fit_s = time.perf_counter() - t0
    pi = model.predict_interval(X_test, alpha=0.05)
    coverage = pi.coverage(y_test)
    mse = float(np.mean((model.predict(X_test) - y_test.to_numpy()) ** 2))

    lasso = LassoCV(cv=5, random_state=args.seed).fit(X_train, y_train)
    lasso_mse = float(np.mean((lasso.predict(X_test) - y_test.to_numpy()) ** 2))
    lasso_sel = [n for n, c in zip(X_train.columns, lasso.coef_) if c != 0]
    selected = [str(n) for n in model.feature_names_in_[model.selected_features_]]

    fig = plot_intervals(
        pi, y_test, sort=True, title="Diabetes: 95% prediction intervals (test set)"
    )
    fig.savefig(out / "demo_intervals.png", dpi=120, bbox_inches="tight")
    fig = plot_inclusion(model, title="Posterior inclusion probability per covariate")
    fig.savefig(out / "demo_inclusion.png", dpi=120, bbox_inches="tight")

    n_test = len(y_test)
    se_cov = float(np.sqrt(0.95 * 0.05 / n_test))
    lines = [
        "# bsdl demo: sparse MLP on the diabetes data",
        "",
        "Data: scikit-learn's bundled diabetes data (Efron et al. 2004); "
        f"{len(X_train)} training / {n_test} test patients, 10 covariates.",
        "",
        "```",
        str(model.summary()),
        "```",
        "",
        "| | bsdl SparseMLPRegressor | LassoCV |",
        "|---|---|---|",
        f"| selected covariates | {', '.join(selected)} | {', '.join(lasso_sel)} |",
        f"| test MSE | {mse:.1f} | {lasso_mse:.1f} |",
        f"| 95% PI coverage on test | {coverage:.3f} (binomial sd {se_cov:.3f}) | - |",
        f"| mean 95% PI width | {float(pi.width.mean()):.1f} | - |",
        f"| fit time (s), 3 restarts | {fit_s:.1f} | - |",
        "",
        "![intervals](demo_intervals.png)",
        "",
        "![inclusion](demo_inclusion.png)",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines[5:6]))
    print(f"selected: {selected}\nLasso selected: {lasso_sel}")
    print(f"test MSE {mse:.1f} (Lasso {lasso_mse:.1f}); 95% PI coverage {coverage:.3f}")
    print(f"report written to {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
