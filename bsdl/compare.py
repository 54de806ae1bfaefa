"""Side-by-side comparison of bsdl's asymptotic intervals with conformal baselines.

:func:`compare_intervals` puts every method on the same footing: one chronological
train / calibration / test split per series, the same base forecaster
(:class:`~bsdl.SparseRNN`, one fit per series and seed, shared by every method that
wraps a model; EnbPI refits it on block-bootstrap series), one-step-ahead intervals
along the test span with each value revealed after its interval, and the same
metrics, read from the :class:`~bsdl.results.Intervals` every method returns
(``coverage``, ``width``, ``interval_score``: the rules of :mod:`bsdl.conformal.metrics`).
The linear baseline ``autoreg`` (statsmodels' AutoReg at the BIC lags,
:func:`bsdl.baselines.baseline_bic_lags`) sits in the same table.
``bsdl compare`` is its command line.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from tqdm.auto import tqdm

from bsdl._validation import check_alpha, check_array, check_positive_int, check_random_state
from bsdl.baselines import autoreg_forecasts, baseline_bic_lags
from bsdl.conformal import (
    ACI,
    SPCI,
    AgACI,
    ConformalizedAsymptotic,
    EnbPI,
    SplitConformal,
    min_calibration_size,
)
from bsdl.datasets import REAL_SERIES, load_series
from bsdl.models.rnn import SparseRNN
from bsdl.results import Intervals, PredictionIntervals

__all__ = ["METHODS", "OneStepForecaster", "compare_intervals", "comparison_table"]

#: Methods compared, in table order.
METHODS: tuple[str, ...] = (
    "bsdl",
    "conformalized",
    "split",
    "aci",
    "agaci",
    "enbpi",
    "spci",
    "autoreg",
)


class OneStepForecaster:
    """A series forecaster seen as a regressor on time positions, for conformal wrappers.

    ``X`` holds integer positions in ``series``. ``fit(X, y)`` fits a copy of ``model``
    (e.g. :class:`~bsdl.SparseRNN`) to the values ``y`` in the order given (a
    block-bootstrap sample is a concatenation of blocks); ``predict(X)`` and
    ``predict_interval(X)`` are the one-step-ahead forecasts at those positions from
    the observed past of ``series``, without refitting.

    Parameters
    ----------
    model : SparseRNN or any model with ``fit(series)``, ``predict(series=)`` and
        ``predict_interval(series=, alpha=)``
    series : array-like of shape (n,)
        The whole observed series (training, calibration and test spans).

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl import SparseRNN
    >>> from bsdl.compare import OneStepForecaster
    >>> y = np.sin(np.arange(120) / 3.0)
    >>> f = OneStepForecaster(SparseRNN(lags=3, window=4, n_epochs=20, random_state=0), y)
    >>> f = f.fit(np.arange(80), y[:80])
    >>> f.predict(np.array([100, 101])).shape
    (2,)
    """

    def __init__(self, model, series) -> None:
        self.model = model
        self.series = series

    def get_params(self, deep: bool = False) -> dict:
        return {"model": self.model, "series": self.series}

    def fit(self, X, y):
        pos = np.asarray(X).reshape(-1).astype(np.int64)
        self._y = np.asarray(self.series, dtype=float).reshape(-1)
        self.model_ = clone(self.model).fit(np.asarray(y, dtype=float))
        # fitted on the series' own prefix (not a bootstrap sample): the model's history is
        # the true past, so forecasts can start at the first requested position
        self._prefix = bool(np.array_equal(pos, np.arange(pos.size)))
        return self

    def _positions(self, X) -> np.ndarray:
        pos = np.asarray(X).reshape(-1).astype(np.int64)
        lags, window = int(self.model_.lags), int(self.model_.window)
        first = lags + window - 1
        if pos.size == 0:
            raise ValueError("X holds no positions")
        if pos.min() < first or pos.max() >= self._y.size:
            raise ValueError(
                f"positions must lie in [{first}, {self._y.size}) (one-step forecasts need "
                f"lags + window - 1 = {first} earlier values), got {pos.min()}..{pos.max()}"
            )
        return pos

    def _along(self, pos: np.ndarray):
        """The series handed to the model (starting as late as its history allows) and
        the position of its first one-step forecast."""
        stop = int(pos.max()) + 1
        if self._prefix:
            lo = int(min(pos.min(), self.model_.n_obs_))
            return pd.Series(self._y[lo:stop], index=pd.RangeIndex(lo, stop))
        return self._y[:stop]

    def predict(self, X) -> np.ndarray:
        pos = self._positions(X)
        path = self.model_.predict(series=self._along(pos)).to_numpy()
        return path[pos - (int(pos.max()) + 1 - path.size)]

    def predict_interval(self, X, alpha: float = 0.05) -> PredictionIntervals:
        """The model's one-step prediction intervals at the positions ``X`` (the index).

        The rows of the model's :class:`~bsdl.results.PredictionIntervals` at those
        positions, with its settings (critical value, link, bounds); a model that
        returns another object with ``mean`` and ``se`` gets normal intervals.
        """
        alpha = check_alpha(alpha)
        pos = self._positions(X)
        pi = self.model_.predict_interval(series=self._along(pos), alpha=alpha)
        mean, se = np.asarray(pi.mean, dtype=float), np.asarray(pi.se, dtype=float)
        idx = pos - (int(pos.max()) + 1 - mean.size)
        opts = {}
        if isinstance(pi, PredictionIntervals):
            opts = dict(bounds=pi.bounds, kind=pi.kind, df=pi.df, link=pi.link)
        return PredictionIntervals(mean[idx], se[idx], alpha, index=pos, **opts)


def _split_sizes(n: int, train: float, calibration: float, first: int) -> tuple[int, int]:
    n_train = int(round(train * n))
    n_cal = int(round(calibration * n))
    if n_train - first < 20 or n_cal < 20 or n - n_train - n_cal < 20:
        raise ValueError(
            f"a series of {n} points gives train/calibration/test spans of {n_train}/"
            f"{n_cal}/{n - n_train - n_cal}; each needs at least 20 points (the training "
            f"span {first} more for the first window): use a longer series or other fractions"
        )
    return n_train, n_cal


#: EnbPI is skipped (NaN row, with a note) when its block bootstrap would have fewer blocks.
MIN_BLOCKS = 8

_WRAPPERS = ("conformalized", "split", "aci", "agaci", "spci")


def _run_one(
    name: str,
    y: np.ndarray,
    index: pd.Index,
    seed: int,
    alphas: list[float],
    methods: list[str],
    train: float,
    calibration: float,
    rnn_params: dict,
    n_bootstraps: int,
) -> tuple[list[dict], dict]:
    base = SparseRNN(random_state=seed, **rnn_params)
    first = int(base.lags) + int(base.window) - 1
    n = y.size
    n_train, n_cal = _split_sizes(n, train, calibration, first)
    wrappers = [m for m in methods if m in _WRAPPERS]
    if wrappers and n_cal < min_calibration_size(min(alphas)):
        raise ValueError(
            f"series {name!r}: its calibration span has {n_cal} points, fewer than the "
            f"{min_calibration_size(min(alphas))} that alpha={min(alphas):g} needs"
        )
    pos = np.arange(n)
    cal = pos[n_train : n_train + n_cal]
    test = pos[n_train + n_cal :]
    n_full = n_train + n_cal
    rows, intervals = [], {}

    def record(method, alpha, iv: Intervals | None, seconds, n_fit, n_calibration, note=""):
        if iv is None:
            m = dict(coverage=np.nan, width=np.nan, interval_score=np.nan)
        else:
            m = dict(
                coverage=iv.coverage(y[test]),
                width=float(np.mean(iv.width)),
                interval_score=iv.interval_score(y[test]),
            )
            intervals[(name, seed, alpha, method)] = pd.DataFrame(
                {"y": y[test], "mean": iv.mean, "lower": iv.lower, "upper": iv.upper},
                index=index[test],
            )
        rows.append(
            dict(
                series=name,
                seed=seed,
                alpha=alpha,
                method=method,
                coverage=m["coverage"],
                width=m["width"],
                interval_score=m["interval_score"],
                seconds=seconds,
                n_fit=n_fit,
                n_calibration=n_calibration,
                n_test=test.size,
                note=note,
            )
        )

    # bsdl needs no calibration set: one fit on train + calibration, as a user would do
    if "bsdl" in methods:
        t0 = time.perf_counter()
        full = OneStepForecaster(base, y).fit(pos[:n_full], y[:n_full])
        full_seconds = time.perf_counter() - t0
        for alpha in alphas:
            t0 = time.perf_counter()
            pi = full.predict_interval(test, alpha=alpha)
            seconds = full_seconds + time.perf_counter() - t0
            record("bsdl", alpha, pi, seconds, n_full, 0)

    # the calibration-based methods share one fit on the training span
    if wrappers:
        t0 = time.perf_counter()
        fitted = OneStepForecaster(base, y).fit(pos[:n_train], y[:n_train])
        fit_seconds = time.perf_counter() - t0
        make = {
            "conformalized": lambda: ConformalizedAsymptotic(fitted, prefit=True),
            "split": lambda: SplitConformal(fitted, prefit=True),
            "aci": lambda: ACI(fitted, prefit=True, gamma=0.01, window=n_cal),
            "agaci": lambda: AgACI(fitted, prefit=True, window=n_cal),
            "spci": lambda: SPCI(fitted, prefit=True, n_lags=5, window=300, refit_every=5),
        }
        for alpha in alphas:
            for method in wrappers:
                t0 = time.perf_counter()
                ci = make[method]().calibrate(cal, y[cal]).predict_online(test, y[test], alpha)
                seconds = fit_seconds + time.perf_counter() - t0
                record(method, alpha, ci, seconds, n_train, n_cal)

    # the linear baseline: AutoReg at the BIC lags chosen on train + calibration, as bsdl
    if "autoreg" in methods:
        t0 = time.perf_counter()
        search = baseline_bic_lags(y[:n_full], int(base.lags))
        fc = autoreg_forecasts(y[:n_full], search.bic_lags, series=y, alpha=alphas[0])
        at = test - int(search.bic_lags.max(initial=0))  # one_step starts at position max lag
        one = PredictionIntervals(fc.one_step.mean[at], fc.one_step.se[at], alpha=alphas[0])
        fit_ar = time.perf_counter() - t0
        lags = ", ".join(map(str, search.bic_lags)) or "none"
        note = f"lags {{{lags}}} ({search.search} BIC search over 1..{search.max_lag})"
        for alpha in alphas:
            t1 = time.perf_counter()
            pi = one.with_alpha(alpha)
            seconds = fit_ar + time.perf_counter() - t1
            record("autoreg", alpha, pi, seconds, n_full, 0, note)

    # EnbPI needs no calibration set either: bootstrap refits on train + calibration
    if "enbpi" in methods:
        n_rows = n_full - first
        block = max(int(round(n_rows ** (1 / 3))), first + 1)
        if n_rows // block < MIN_BLOCKS:
            note = (
                f"skipped: {n_rows} training rows make {n_rows // block} bootstrap blocks of "
                f"{block} (lags + window); EnbPI needs at least {MIN_BLOCKS}"
            )
            for alpha in alphas:
                record("enbpi", alpha, None, np.nan, n_full, 0, note)
            return rows, intervals
        t0 = time.perf_counter()
        enb = EnbPI(
            OneStepForecaster(base, y),
            n_bootstraps=n_bootstraps,
            block_length=block,
            random_state=seed,
        ).fit(pos[first:n_full], y[first:n_full])
        fit_enb = time.perf_counter() - t0
        for alpha in alphas:
            t1 = time.perf_counter()
            ci = enb.predict_online(test, y[test], alpha=alpha)
            seconds = fit_enb + time.perf_counter() - t1
            record("enbpi", alpha, ci, seconds, n_full, 0)

    return rows, intervals


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


def compare_intervals(
    series=tuple(REAL_SERIES),
    methods=METHODS,
    alpha=(0.1, 0.05),
    *,
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
    """Compare bsdl's asymptotic intervals with conformal and AutoReg baselines on one split.

    Each series is cut in time order into train (first ``train`` share), calibration
    (next ``calibration`` share) and test (the rest). Each method is used as it would
    be in practice, with the same :class:`~bsdl.SparseRNN` settings and seed:

    - ``bsdl``: the asymptotic one-step prediction intervals (delta method + noise) of
      one fit on train + calibration (it needs no calibration set);
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

    Every method walks the test span online, each value revealed after its interval.
    Tasks (series x seed) run in parallel with joblib.

    Parameters
    ----------
    series : str, sequence or dict, default all of :data:`bsdl.datasets.REAL_SERIES`
        Names of bundled series, arrays / pandas Series, or ``{name: values}``.
    methods : sequence of str, default :data:`METHODS`
    alpha : float or sequence of float, default (0.1, 0.05)
        Significance levels (0.1: 90 % intervals).
    train, calibration : float, default 0.6 and 0.2
        Shares of each series for the training and calibration spans.
    n_seeds : int, default 1
        Seeds per series (the RNN initialisation and EnbPI's bootstrap).
    max_length : int or None, default 2000
        Use only the last ``max_length`` points of longer series (bounds the cost).
    rnn_params : dict, optional
        Arguments of the shared :class:`~bsdl.SparseRNN` (default ``lags=10``).
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
    methods = [methods] if isinstance(methods, str) else list(methods)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {list(METHODS)}, got {unknown}")
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
    params = {"lags": 10} | dict(rnn_params or {})
    if "random_state" in params:
        raise ValueError(
            "rnn_params must not hold random_state: the seeds come from compare_intervals' "
            "random_state and n_seeds"
        )
    rng = np.random.default_rng(check_random_state(random_state))
    seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=n_seeds)]
    tasks = [(name, y, index, seed) for name, (y, index) in data.items() for seed in seeds]
    runs = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_run_one)(
            name, y, index, seed, alphas, methods, train, calibration, params, n_bootstraps
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
