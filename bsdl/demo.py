"""``make demo``: a sparse RNN on the yearly sunspot numbers, with a report and figures.

Data: yearly mean sunspot numbers 1700-2008, shipped with statsmodels (nothing is
downloaded). The model is fitted to the square root of the series (the usual
variance-stabilising transform) up to 1968; the 40 years 1969-2008 are held out.

The report gives the selected lags and the autoregressive order (beside statsmodels' AIC
and BIC over the orders and over all lag subsets), a 95 % forecast fan for the 12 years
after the training data, the coverage of 95 % one-step-ahead intervals over the held-out
years, and bsdl side by side with statsmodels' AutoReg at the BIC order and at the
global-BIC lags: one-step RMSE over the held-out years and RMSE of the 12-year forecast
path.

Run ``python -m bsdl.demo --out out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

HOLDOUT = 40
STEPS = 12


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="output folder (default: out)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run for the tests: one restart, 60 epochs (not the demo's result)",
    )
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    from bsdl.baselines import ar_lag_search
    from bsdl.datasets import load_sunspots
    from bsdl.models import SparseRNN
    from bsdl.plotting import plot_forecast

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    series = np.sqrt(load_sunspots())
    train, test = series.iloc[:-HOLDOUT], series.iloc[-HOLDOUT:]
    print(
        f"sunspots: {len(train)} training years ({train.index[0]}-{train.index[-1]}), "
        f"{len(test)} held out"
    )
    t0 = time.perf_counter()
    params = dict(lags=12, n_restarts=3, random_state=args.seed)
    if args.quick:
        params.update(n_restarts=1, n_epochs=60)
    model = SparseRNN(**params).fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    one_step = model.predict_interval(series=series, alpha=0.05).to_frame().iloc[-HOLDOUT:]
    forecast = model.predict_interval(steps=STEPS, alpha=0.05)
    interval_s = time.perf_counter() - t0
    inside = (test >= one_step["lower"]) & (test <= one_step["upper"])
    coverage = float(inside.mean())
    rmse = float(np.sqrt(np.mean((one_step["mean"] - test) ** 2)))
    orders = ar_lag_search(train, 12)  # contiguous orders 1..p
    subsets = ar_lag_search(train, 12, glob=True)  # all 2**12 lag subsets
    aic, bic = orders.aic_lags.tolist(), orders.bic_lags.tolist()
    glob_aic, glob_bic = subsets.aic_lags.tolist(), subsets.bic_lags.tolist()
    versus = _versus_autoreg(
        series,
        train,
        test,
        (model.selected_lags_.tolist(), one_step, forecast),
        {"BIC order": bic, "global BIC": glob_bic},
    )

    from bsdl.results import PredictionIntervals

    one_step_pi = PredictionIntervals(
        one_step["mean"], one_step["se"], alpha=0.05, index=one_step.index
    )
    fig = plot_forecast(
        train.iloc[-120:],
        forecast,
        actual=test,
        one_step=one_step_pi,
        levels=(0.8, 0.95),
        title="sqrt(sunspot number): forecast fan from 1968 and one-step intervals 1969-2008",
    )
    fig.savefig(out / "forecast.png", dpi=120, bbox_inches="tight")

    fc = forecast.to_frame()
    fc_orig = fc.assign(
        lower=np.clip(fc["lower"], 0, None) ** 2, upper=fc["upper"] ** 2, mean=fc["mean"] ** 2
    )[["mean", "lower", "upper"]]
    lags = ", ".join(map(str, model.selected_lags_)) or "none"
    report = [
        "# bsdl demo: sparse RNN on the yearly sunspot numbers",
        "",
        "Data: yearly mean sunspot numbers 1700-2008 (statsmodels `sunspots`), square-root "
        f"scale. Training: {train.index[0]}-{train.index[-1]} ({len(train)} years); held out: "
        f"{test.index[0]}-{test.index[-1]} ({len(test)} years).",
        "",
        *(["**Quick mode (`--quick`): a smoke run, not the demo's result.**", ""] * args.quick),
        f"Model: `SparseRNN({', '.join(f'{k}={v}' for k, v in params.items())})` "
        f"(cell {model.cell_!r}, {model.n_nonzero_} of {model.n_params_} weights kept, "
        f"{model.n_network_weights_} of them in the network, sparsity {model.sparsity_:.3f}); "
        f"fit {fit_s:.1f} s, all intervals {interval_s:.2f} s.",
        "",
        "## Selected lags",
        "",
        "| method | lags | order |",
        "|---|---|---|",
        f"| bsdl SparseRNN | {lags} | {model.ar_order_} |",
        f"| statsmodels AIC | {', '.join(map(str, aic or []))} | {max(aic or [0])} |",
        f"| statsmodels BIC | {', '.join(map(str, bic or []))} | {max(bic or [0])} |",
        f"| statsmodels global AIC | {', '.join(map(str, glob_aic))} | {max(glob_aic or [0])} |",
        f"| statsmodels global BIC | {', '.join(map(str, glob_bic))} | {max(glob_bic or [0])} |",
        "",
        "AIC/BIC choose an order p (lags 1..p); the global searches choose the best of all "
        "2^12 lag subsets (`bsdl.baselines.ar_lag_search(train, 12, glob=True)`).",
        "",
        "## One-step-ahead 95 % intervals over the held-out years",
        "",
        f"Coverage {coverage:.3f} ({int(inside.sum())} of {len(test)} years; the binomial "
        f"standard error at 95 % is {np.sqrt(0.95 * 0.05 / len(test)):.3f}). "
        f"RMSE of the one-step predictions {rmse:.3f} (square-root scale); "
        f"innovation sd sigma = {model.sigma_:.3f}.",
        "",
        "## bsdl beside AutoReg",
        "",
        "statsmodels `AutoReg` fitted on the same training years at the BIC order and at the "
        "global-BIC lags (`bsdl.baselines.autoreg_forecasts`; its intervals are statsmodels': "
        "normal quantiles, no parameter uncertainty). One-step forecasts over "
        f"{test.index[0]}-{test.index[-1]} use the observed past with the training parameters "
        f"(no refit); the path is the recursive forecast from {train.index[-1]} for "
        f"{forecast.index[0]}-{forecast.index[-1]}. Square-root scale.",
        "",
        "| model | lags | one-step RMSE | one-step 95 % coverage | path RMSE |",
        "|---|---|---|---|---|",
        *[
            f"| {row['model']} | {row['lags']} | {row['one_step_rmse']:.3f} | "
            f"{row['coverage']:.3f} | {row['path_rmse']:.3f} |"
            for row in versus
        ],
        "",
        f"Ratio bsdl / AutoReg (global BIC): one-step RMSE "
        f"{versus[0]['one_step_rmse'] / versus[-1]['one_step_rmse']:.2f}, path RMSE "
        f"{versus[0]['path_rmse'] / versus[-1]['path_rmse']:.2f} (above 1: the linear AR "
        "forecasts these years better).",
        "",
        f"## Forecast for {forecast.index[0]}-{forecast.index[-1]} (95 %, joint over "
        f"{STEPS} years; original scale)",
        "",
        "| year | forecast | lower | upper |",
        "|---|---|---|---|",
        *[
            f"| {idx} | {row['mean']:.1f} | {row['lower']:.1f} | {row['upper']:.1f} |"
            for idx, row in fc_orig.iterrows()
        ],
        "",
        "![forecast](forecast.png)",
        "",
        "## Model summary",
        "",
        "```",
        str(model.summary()),
        "```",
        "",
    ]
    (out / "report.md").write_text("\n".join(report), encoding="utf-8")
    print(
        f"selected lags: {lags} (AR order {model.ar_order_}); AIC {aic}, BIC {bic}, "
        f"global AIC {glob_aic}, global BIC {glob_bic}"
    )
    print(f"one-step 95% coverage over {len(test)} held-out years: {coverage:.3f}")
    for row in versus:
        print(
            f"{row['model']:<24s} lags {row['lags']:<28s} one-step RMSE "
            f"{row['one_step_rmse']:.3f}, path RMSE {row['path_rmse']:.3f}"
        )
    print(f"wrote {out / 'report.md'} and {out / 'forecast.png'} (fit {fit_s:.1f} s)")
    return 0


def _versus_autoreg(series, train, test, bsdl_fit, lag_sets) -> list[dict]:
    """bsdl and AutoReg at each lag set: one-step RMSE and coverage, path RMSE.

    ``bsdl_fit`` is ``(selected lags, one-step frame over the test years, path forecast)``.
    """
    from bsdl.baselines import autoreg_forecasts

    bsdl_lags, one_step, forecast = bsdl_fit

    def scores(mean, lower, upper, path_mean) -> dict:
        actual = test.iloc[: len(path_mean)].to_numpy()
        return dict(
            one_step_rmse=float(np.sqrt(np.mean((np.asarray(mean) - test.to_numpy()) ** 2))),
            coverage=float(np.mean((test.to_numpy() >= lower) & (test.to_numpy() <= upper))),
            path_rmse=float(np.sqrt(np.mean((np.asarray(path_mean) - actual) ** 2))),
        )

    rows = [
        dict(
            model="bsdl SparseRNN",
            lags=", ".join(map(str, bsdl_lags)) or "none",
            **scores(
                one_step["mean"].to_numpy(),
                one_step["lower"].to_numpy(),
                one_step["upper"].to_numpy(),
                forecast.mean,
            ),
        )
    ]
    for label, lags in lag_sets.items():
        fc = autoreg_forecasts(train, lags, series=series, steps=len(forecast.mean), alpha=0.05)
        pi = fc.one_step.to_frame().loc[test.index]
        rows.append(
            dict(
                model=f"AutoReg ({label})",
                lags=", ".join(map(str, lags)) or "none",
                **scores(
                    pi["mean"].to_numpy(),
                    pi["lower"].to_numpy(),
                    pi["upper"].to_numpy(),
                    fc.path.mean,
                ),
            )
        )
    return rows


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
