"""A deep forecaster from the ecosystem for vignette 07: neuralforecast's MLP with a quantile loss.

``neuralforecast`` (Nixtla; Olivares et al.) is optional (the ``bench`` extra, see setup.cfg)
and imported lazily: :func:`missing` names it when it is not installed, and the vignette
skips this baseline with a note.

The model is ``neuralforecast.models.MLP(h=1, input_size=L)`` (an MLP on the last ``L``
values, ``L`` the vignette's candidate lags) trained with ``MQLoss(level=[90, 95])``: it
outputs the median and the 5 / 95 % and 2.5 / 97.5 % quantiles of the next value, the
interval method of the package (no parameter uncertainty, no calibration step). It is fitted
once on the training points; the held-out points are forecast one step ahead from each
point's own past with ``NeuralForecast.cross_validation(h=1, step_size=1, refit=False)``,
which trains on the points before the first held-out one and slides the input window over the
held-out span without refitting (the same protocol as the other methods of the vignette).
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings

import numpy as np
import pandas as pd

PACKAGE = "neuralforecast"
METHOD = "neuralforecast MLP"
LEVELS = (90, 95)
# Full mode of vignette 07: the package default (1024 hidden units, 1000 steps, no early
# stopping) overfits 1000 points until the quantiles collapse; 64 units and early stopping
# on the last VAL_SHARE of the training points (checked every 50 steps, patience 3).
FULL_KWARGS = dict(max_steps=1000, hidden_size=64, early_stop_patience_steps=3, val_check_steps=50)
VAL_SHARE = 0.1
QUICK_KWARGS = dict(max_steps=50, hidden_size=64)  # about a second per fit, no early stopping


def missing() -> dict[str, str]:
    """``{method: package}`` when neuralforecast is not installed, else ``{}``."""
    return {} if importlib.util.find_spec(PACKAGE) is not None else {METHOD: PACKAGE}


def version() -> str:
    """The installed neuralforecast version (``""`` if missing)."""
    if missing():
        return ""
    from importlib.metadata import version as _v

    return _v(PACKAGE)


def fit_neuralforecast(
    series: np.ndarray, n_train: int, input_size: int, seed: int, val_size: int = 0, **kwargs
) -> dict:
    """Fit the MLP on ``series[:n_train]``; one-step quantile forecasts of ``series[n_train:]``.

    Parameters
    ----------
    series : array of shape (n,)
        The whole series; the first ``n_train`` values are the training points.
    n_train : int
        Number of training points (the rest are forecast one step ahead).
    input_size : int
        Number of past values the MLP reads (the vignette's candidate lags).
    seed : int
        ``random_seed`` of the model.
    val_size : int
        Last training points held out for early stopping (``early_stop_patience_steps`` in
        ``kwargs``); 0: none.
    **kwargs
        Passed to ``neuralforecast.models.MLP`` (e.g. ``max_steps``).

    Returns
    -------
    dict
        ``mean`` (the median forecast), ``lo90``, ``hi90``, ``lo95``, ``hi95`` (arrays of
        length ``len(series) - n_train``) and ``seconds`` (fit and forecast).
    """
    from neuralforecast import NeuralForecast
    from neuralforecast.losses.pytorch import MQLoss
    from neuralforecast.models import MLP

    y = np.asarray(series, dtype=float)
    m = len(y) - n_train
    if m < 1 or n_train <= input_size:
        raise ValueError("series: need more than input_size training points and >= 1 test point")
    frame = pd.DataFrame(
        {"unique_id": "s", "ds": np.arange(len(y), dtype=np.int64), "y": y.astype(np.float32)}
    )
    for name in ("pytorch_lightning", "lightning", "lightning_fabric", "neuralforecast"):
        logging.getLogger(name).setLevel(logging.ERROR)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLP(
            h=1,
            input_size=input_size,
            loss=MQLoss(level=list(LEVELS)),
            random_seed=seed,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            **kwargs,
        )
        nf = NeuralForecast(models=[model], freq=1)
        cv = nf.cross_validation(
            df=frame, n_windows=m, step_size=1, refit=False, verbose=False, val_size=val_size
        )
    seconds = time.perf_counter() - t0
    cv = cv.sort_values("ds")
    if len(cv) != m or not np.array_equal(cv["ds"].to_numpy(), np.arange(n_train, len(y))):
        raise RuntimeError("neuralforecast returned forecasts for unexpected time points")
    col = "MLP"
    out = dict(mean=cv[f"{col}-median"].to_numpy(dtype=float), seconds=seconds)
    for lev in LEVELS:
        out[f"lo{lev}"] = cv[f"{col}-lo-{lev}"].to_numpy(dtype=float)
        out[f"hi{lev}"] = cv[f"{col}-hi-{lev}"].to_numpy(dtype=float)
    return out


def _simulate(design_index: int, n_total: int, rep: int, n: int) -> np.ndarray:
    """Vignette 07's series: ``default_rng([d, rep, n])`` with d = 0 linear, 1 nonlinear, 2 even."""
    from bsdl.datasets import make_ar, make_even_ar, make_nonlinear_ar

    rng = np.random.default_rng([design_index, rep, n])
    maker = (make_ar, make_nonlinear_ar, make_even_ar)[design_index]
    return maker(n_total, random_state=rng)


def main() -> None:
    """This baseline alone on vignette 07's full design (n = 1000, 500 held-out points, 10
    replicates, the three designs, the vignette's seeds): a markdown table on stdout."""
    from bsdl.conformal.metrics import coverage, interval_score, mean_width

    n, m, reps, max_lag, alpha = 1000, 500, 10, 10, 0.1
    print(f"neuralforecast {version()}; MLP(h=1, input_size={max_lag}, MQLoss(level=[90, 95]),")
    print(f"random_seed=r, {FULL_KWARGS}), val_size={int(round(VAL_SHARE * n))}\n")
    print(
        "| design | 90% coverage (binomial se) | replicate se | 95% coverage (binomial se) "
        "| mean width | interval score | RMSE | fit s (mean, min-max) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for d, design in enumerate(("linear AR", "nonlinear AR", "even AR")):
        rows = []
        for rep in range(reps):
            y = _simulate(d, n + m, rep, n)
            out = fit_neuralforecast(
                y, n, max_lag, rep, val_size=int(round(VAL_SHARE * n)), **FULL_KWARGS
            )
            yt = y[n:]
            rows.append(
                (
                    coverage(yt, out["lo90"], out["hi90"]),
                    coverage(yt, out["lo95"], out["hi95"]),
                    mean_width(out["lo90"], out["hi90"]),
                    interval_score(yt, out["lo90"], out["hi90"], alpha),
                    float(np.sqrt(np.mean((yt - out["mean"]) ** 2))),
                    out["seconds"],
                )
            )
        c90, c95, w, sc, rmse, sec = np.array(rows).T
        pts = reps * m
        print(
            f"| {design} | {c90.mean():.3f} ({np.sqrt(0.09 / pts):.4f}) "
            f"| {c90.std(ddof=1) / np.sqrt(reps):.4f} "
            f"| {c95.mean():.3f} ({np.sqrt(0.0475 / pts):.4f}) "
            f"| {w.mean():.3f} ± {w.std(ddof=1):.3f} | {sc.mean():.3f} ± {sc.std(ddof=1):.3f} "
            f"| {rmse.mean():.3f} ± {rmse.std(ddof=1):.3f} "
            f"| {sec.mean():.1f} ({sec.min():.1f}-{sec.max():.1f}) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
