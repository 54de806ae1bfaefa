"""Side-by-side comparison of bsdl's asymptotic intervals with conformal baselines.

:func:`compare_intervals` puts every method on the same footing: one chronological
train / calibration / test split per series, the same base forecaster
(:class:`~bsdl.SparseRNN` by default, :class:`~bsdl.SparseTransformer` with
``model="transformer"``; one fit per series and seed, shared by every method that
wraps a model; EnbPI refits it on block-bootstrap series), one-step-ahead intervals
along the test span with each value revealed after its interval, and the same
metrics, read from the :class:`~bsdl.results.Intervals` every method returns
(``coverage``, ``width``, ``interval_score``: the rules of :mod:`bsdl.conformal.metrics`).
The linear baseline ``autoreg`` (statsmodels' AutoReg at the BIC lags,
:func:`bsdl.baselines.baseline_bic_lags`) and the volatility baseline ``garch``
(an AR-GARCH(1, 1) at the same lags, :mod:`bsdl.garch`, needs ``arch``) sit in the
same table. ``bsdl compare`` is its command line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm.auto import tqdm

from bsdl._compare_run import GARCH_MIN_FIT, MIN_BLOCKS, run_one
from bsdl._validation import check_alpha, check_array, check_positive_int, check_random_state
from bsdl.datasets import REAL_SERIES, load_series
from bsdl.models.rnn import SparseRNN
from bsdl.models.transformer import SparseTransformer
from bsdl.onestep import OneStepForecaster

__all__ = [
    "GARCH_MIN_FIT",
    "METHODS",
    "MIN_BLOCKS",
    "MODELS",
    "OneStepForecaster",
    "compare_intervals",
    "comparison_table",
    "default_methods",
]

#: Methods compared, in table order.
METHODS: tuple[str, ...] = (
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

#: Forecasters that ``model=`` names.
MODELS: dict[str, type] = {"rnn": SparseRNN, "transformer": SparseTransformer}


def default_methods() -> tuple[str, ...]:
    """:data:`METHODS`, without ``"garch"`` when the optional package ``arch`` is missing.

    >>> from bsdl.compare import default_methods
    >>> default_methods()[:2]
    ('bsdl', 'hybrid')
    """
    import importlib.util

    if importlib.util.find_spec("arch") is None:
        return tuple(m for m in METHODS if m != "garch")
    return METHODS


def _as_series_dict(series) -> dict[str, tuple[np.ndarray, pd.Index]]:
    if isinstance(series, str | np.ndarray | pd.Series):
        series = [series]  # one series
    if isinstance(series, dict):
        items = list(series.items())
    else:
        items = []
        for s in series:
            if isinstance(s, str):
                items.append((s, load_series(s)))
            elif isinstance(s, pd.Series) and s.name is not None:
                items.append((str(s.name), s))
            else:
                items.append((f"series{len(items)}", s))
    if not items:
        raise ValueError("series must name or hold at least one series")
    out = {}
    for name, s in items:
        if isinstance(s, str):
            raise TypeError(f"series {name!r}: expected values, got the string {s!r}")
        arr, _ = check_array(s, f"series {name!r}", ndim=1)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"series {name!r} contains NaN or inf")
        index = s.index if isinstance(s, pd.Series) else pd.RangeIndex(arr.size)
        out[str(name)] = (arr, index)
    return out


def _resolve_model(model, model_params, rnn_params) -> tuple[type, dict]:
    """The forecaster's class and its arguments (without ``random_state``)."""
    if model_params is not None and rnn_params is not None:
        raise ValueError("give model_params or rnn_params (its older name), not both")
    given, argname = (
        (model_params, "model_params") if rnn_params is None else (rnn_params, "rnn_params")
    )
    if given is not None and not isinstance(given, dict):
        raise TypeError(f"{argname} must be a dict of the forecaster's arguments, got {given!r}")
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(
                f"model must be one of {list(MODELS)}, a forecaster class or an unfitted "
                f"forecaster, got {model!r}"
            )
        cls, base = MODELS[model], {}
    elif isinstance(model, type):
        cls, base = model, {}
    elif callable(getattr(model, "get_params", None)):
        cls = type(model)
        base = {k: v for k, v in model.get_params(deep=False).items() if k != "random_state"}
    else:
        raise TypeError(
            f"model must be one of {list(MODELS)}, a forecaster class or an unfitted "
            f"forecaster, got {type(model).__name__}"
        )
    for method in ("fit", "predict", "predict_interval"):
        if not callable(getattr(cls, method, None)):
            raise TypeError(
                f"model {cls.__name__} must have fit(series), predict(series=) and "
                f"predict_interval(series=, alpha=); it has no {method}()"
            )
    params = {"lags": 10} | base | dict(given or {})
    if "random_state" in params:
        raise ValueError(
            f"{argname} must not hold random_state: the seeds come from compare_intervals' "
            "random_state and n_seeds"
        )
    probe = cls(random_state=0, **params)
    for attr in ("lags", "window"):
        if attr == "lags" and getattr(probe, attr, None) == "auto":
            continue  # resolved per series by the harness (default_lags of its training span)
        if not isinstance(getattr(probe, attr, None), int | np.integer):
            raise TypeError(f"model {cls.__name__} must have an integer {attr!r} parameter")
    return cls, params


def compare_intervals(
    series=tuple(REAL_SERIES),
    methods=None,
    alpha=(0.1, 0.05),
    *,
    model="rnn",
    model_params: dict | None = None,
    train: float = 0.6,
    calibration: float = 0.2,
    n_seeds: int = 1,
    max_length: int | None = 2000,
    rnn_params: dict | None = None,
    n_bootstraps: int = 20,
    n_jobs: int | None = None,
    random_state=0,
    return_intervals: bool = False,
    verbose: bool = False,
):
    """Compare bsdl's asymptotic intervals with conformal, AutoReg and GARCH baselines.

    Each series is cut in time order into train (first ``train`` share), calibration
    (next ``calibration`` share) and test (the rest). Each method is used as it would
    be in practice, with the same forecaster (``model``: :class:`~bsdl.SparseRNN` by
    default), settings and seed:

    - ``bsdl``: the asymptotic one-step prediction intervals (delta method + noise) of
      one fit on train + calibration (it needs no calibration set);
    - ``hybrid``: :class:`~bsdl.conformal.AdaptiveAsymptotic` on the same fit: bsdl's
      interval (its standard error and critical value) at levels moved online by
      ACI's update, one per step size of :data:`~bsdl.conformal.HYBRID_GAMMAS` (0: the
      nominal level), aggregated as AgACI aggregates its experts; no calibration set;
    - ``conformalized``: :class:`~bsdl.conformal.ConformalizedAsymptotic`, a fit on
      the training span, scores ``|y - f| / se`` on the calibration span;
    - ``split``, ``aci`` (gamma = 0.01), ``agaci``, ``spci``: the same training-span fit,
      calibrated on the calibration span (ACI/AgACI slide a window of that length;
      SPCI: 5 residual lags, quantile regressions on the last 300 residuals, calibration
      then revealed test residuals, refitted every 5 steps);
    - ``enbpi``: ``n_bootstraps`` refits on block-bootstrap samples of train +
      calibration (it needs no calibration set either), blocks of
      ``max(N^(1/3), lags + window)`` rows, leave-one-out residuals. With fewer than
      :data:`MIN_BLOCKS` blocks its rows are NaN and ``note`` says why;
    - ``autoreg``: the linear baseline, statsmodels' ``AutoReg`` fitted on train +
      calibration (like bsdl, it needs no calibration set) at the BIC lags chosen on that
      span by :func:`bsdl.baselines.baseline_bic_lags` among ``1..lags`` (the
      ``SparseRNN``'s ``lags``): the best lag subset by BIC (statsmodels' global search)
      when ``lags <= 12``, otherwise the contiguous BIC order. Its one-step intervals are
      statsmodels' (:func:`bsdl.baselines.autoreg_forecasts`: normal quantiles, the fitted
      innovation sd, no parameter uncertainty); ``note`` gives the lags.
    - ``garch``: the volatility baseline, an AR-GARCH(1, 1) with standardised Student-t
      innovations (:func:`bsdl.garch.garch_forecasts`, the ``arch`` package) at the same
      BIC lags, fitted on train + calibration by maximum likelihood; its conditional
      variance is filtered along the test span with the fitted parameters (no refit), and
      the one-step intervals are ``mean -+ t-quantile x conditional sd``. ``note`` gives
      the lags, ``nu`` and ``alpha + beta``; NaN rows when train + calibration has fewer
      than :data:`GARCH_MIN_FIT` points beyond the largest lag.

    Every method walks the test span online, each value revealed after its interval.
    Tasks (series x seed) run in parallel with joblib.

    Parameters
    ----------
    series : str, sequence or dict, default all of :data:`bsdl.datasets.REAL_SERIES`
        Names of bundled series, arrays / pandas Series, or ``{name: values}``.
    methods : sequence of str, optional
        Default :func:`default_methods`: all of :data:`METHODS`, ``garch`` only when
        ``arch`` is installed (asking for ``garch`` without it raises ImportError).
    alpha : float or sequence of float, default (0.1, 0.05)
        Significance levels (0.1: 90 % intervals).
    train, calibration : float, default 0.6 and 0.2
        Shares of each series for the training and calibration spans.
    model : {"rnn", "transformer"}, class or estimator, default "rnn"
        The forecaster every model-based method shares: :class:`~bsdl.SparseRNN`,
        :class:`~bsdl.SparseTransformer`, another class with the same ``fit(series)`` /
        ``predict_interval(series=)`` API and ``lags`` / ``window`` parameters, or an
        unfitted instance (its parameters are used, its ``random_state`` is not).
    model_params : dict, optional
        Arguments of the forecaster (default ``lags=10``); they override an instance's.
        ``lags="auto"`` is resolved per series by :func:`bsdl._series.default_lags` from its
        training span's length and its index frequency.
    n_seeds : int, default 1
        Seeds per series (the network initialisation and EnbPI's bootstrap).
    max_length : int or None, default 2000
        Use only the last ``max_length`` points of longer series (bounds the cost).
    rnn_params : dict, optional
        The older name of ``model_params`` (give one of them).
    n_bootstraps : int, default 20
        EnbPI's number of refits.
    n_jobs : int, optional
        joblib workers for the series x seed tasks. None: one process unless an active
        ``joblib.parallel_config`` sets another (e.g. ``backend="dask"``: the cluster's
        workers). Results do not depend on it (seeds are drawn before dispatch).
    random_state : int, default 0
        Seeds are drawn from it.
    return_intervals : bool, default False
        Also return ``{(series, seed, alpha, method): DataFrame(y, mean, lower, upper)}``.
    verbose : bool, default False
        A progress bar over the series x seed tasks (tqdm).

    Returns
    -------
    pandas.DataFrame
        One row per series, seed, alpha and method: coverage, width, interval_score,
        seconds (the method's fit, shared by the calibration-based methods, plus its own
        work), n_fit (points the model was fitted on), n_calibration, n_test and note.
        With ``return_intervals``: ``(frame, intervals)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.compare import compare_intervals
    >>> y = np.sin(np.arange(300) / 4.0) + np.random.default_rng(0).normal(0, 0.2, 300)
    >>> df = compare_intervals({"toy": y}, methods=["bsdl", "split"], alpha=0.1,
    ...                        rnn_params=dict(lags=4, window=4, n_epochs=30))
    >>> sorted(df.method)
    ['bsdl', 'split']
    """
    data = _as_series_dict(series)
    alphas = [check_alpha(a) for a in np.atleast_1d(np.asarray(alpha, dtype=float))]
    methods = default_methods() if methods is None else methods
    methods = [methods] if isinstance(methods, str) else list(methods)
    unknown = sorted(set(methods) - set(METHODS), key=str)
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {list(METHODS)}, got {unknown}")
    if "garch" in methods:
        from bsdl.garch import _arch_model

        _arch_model()  # a clear ImportError now, not in a worker
    model_cls, params = _resolve_model(model, model_params, rnn_params)
    for share, argname in ((train, "train"), (calibration, "calibration")):
        if not (isinstance(share, float | int) and 0 < share < 1):
            raise ValueError(f"{argname} must be a fraction in (0, 1), got {share!r}")
    if train + calibration >= 1:
        raise ValueError(f"train + calibration must be < 1, got {train + calibration}")
    n_seeds = check_positive_int(n_seeds, "n_seeds")
    n_bootstraps = check_positive_int(n_bootstraps, "n_bootstraps", minimum=2)
    if max_length is not None:
        max_length = check_positive_int(max_length, "max_length")
        data = {k: (v[-max_length:], i[-max_length:]) for k, (v, i) in data.items()}
    rng = np.random.default_rng(check_random_state(random_state))
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=n_seeds)]
    tasks = [(name, y, index, seed) for name, (y, index) in data.items() for seed in seeds]
    runs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(run_one)(
            name,
            y,
            index,
            seed,
            alphas,
            methods,
            train,
            calibration,
            model_cls,
            params,
            n_bootstraps,
        )
        for name, y, index, seed in tasks
    )
    results = list(tqdm(runs, total=len(tasks), desc="compare", disable=not verbose))
    rows = [r for task_rows, _ in results for r in task_rows]
    frame = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(METHODS)}
    frame = frame.sort_values(
        ["series", "alpha", "seed", "method"],
        key=lambda c: c.map(order) if c.name == "method" else c,
    ).reset_index(drop=True)
    if return_intervals:
        intervals = {k: v for _, task_intervals in results for k, v in task_intervals.items()}
        return frame, intervals
    return frame


def comparison_table(frame: pd.DataFrame, *, reference: str = "bsdl") -> pd.DataFrame:
    """Mean over seeds per series, level and method, with the width ratio to ``reference``.

    Examples
    --------
    >>> import pandas as pd
    >>> from bsdl.compare import comparison_table
    >>> f = pd.DataFrame(dict(series="s", seed=0, alpha=0.1, method=["bsdl", "split"],
    ...     coverage=[0.9, 0.8], width=[2.0, 1.0], interval_score=[3.0, 4.0], seconds=1.0))
    >>> comparison_table(f)["width_ratio"].tolist()
    [1.0, 0.5]
    """
    cols = ["coverage", "width", "interval_score", "seconds"]
    g = frame.groupby(["series", "alpha", "method"], sort=False)[cols].mean().reset_index()
    ref = g[g.method == reference].set_index(["series", "alpha"])["width"]
    key = pd.MultiIndex.from_frame(g[["series", "alpha"]])
    g["width_ratio"] = g["width"].to_numpy() / ref.reindex(key).to_numpy()
    return g


def write_report(frame: pd.DataFrame, intervals: dict | None, out_dir) -> Path:
    """Write ``comparison.csv``, ``comparison.md`` and one figure per series to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "comparison.csv", index=False)
    table = comparison_table(frame)
    lines = ["| series | level | method | coverage | width | width / bsdl | interval score | s |"]
    lines.append("|---|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        lines.append(
            f"| {r.series} | {1 - r.alpha:.0%} | {r.method} | {r.coverage:.3f} | "
            f"{r.width:.4g} | {r.width_ratio:.2f} | {r.interval_score:.4g} | {r.seconds:.1f} |"
        )
    path = out / "comparison.md"
    path.write_text("\n".join(lines) + "\n")
    if intervals:
        from bsdl.plotting import plot_interval_comparison

        for name in frame.series.unique():
            keys = [k for k in intervals if k[0] == name]
            seed = min(k[1] for k in keys)
            alpha = max(k[2] for k in keys)
            chosen = {k[3]: intervals[k] for k in keys if k[1] == seed and k[2] == alpha}
            fig = plot_interval_comparison(chosen, title=f"{name}: {1 - alpha:.0%} intervals")
            fig.savefig(out / f"intervals_{name}.png", dpi=110)
            import matplotlib.pyplot as plt

            plt.close(fig)
    return path
