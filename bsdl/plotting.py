"""Plots (layer L5). matplotlib is imported lazily; every function returns the figure."""

from __future__ import annotations

import numpy as np

from bsdl.results._base import _covered

__all__ = [
    "plot_intervals",
    "plot_forecast",
    "plot_inclusion",
    "plot_history",
    "plot_interval_comparison",
    "plot_reliability",
]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    else:
        fig = ax.figure
    return fig, ax


def plot_intervals(intervals, y=None, *, x=None, sort: bool = False, ax=None, title=None):
    """Plot an intervals band, optionally with observations.

    Parameters
    ----------
    intervals : Intervals
        1-D intervals: any :class:`~bsdl.results.Intervals`, e.g. a
        :class:`~bsdl.results.PredictionIntervals` or a
        :class:`~bsdl.conformal.ConformalIntervals`.
    y : array-like, optional
        Observed values; points outside the band are highlighted.
    x : array-like, optional
        Horizontal positions (default: the intervals' index, else 0..n-1).
    sort : bool
        Order the points by predicted mean (useful for regression on many inputs).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bsdl.results import PredictionIntervals
    >>> fig = plot_intervals(PredictionIntervals([0.0, 1.0], [1.0, 1.0]), y=[0.5, 3.5])
    >>> len(fig.axes)
    1
    """
    fig, ax = _axes(ax, (8, 4))
    mean, lower, upper = intervals.mean, intervals.lower, intervals.upper
    if mean.ndim != 1:
        raise ValueError("plot_intervals needs 1-D intervals")
    if x is None:
        x = np.asarray(intervals.index) if intervals.index is not None else np.arange(len(mean))
    order = np.argsort(mean) if sort else np.arange(len(mean))
    xs = np.arange(len(mean)) if sort else np.asarray(x)[order]
    level = int(round(100 * (1 - intervals.alpha)))
    kind = getattr(intervals, "kind", None)  # "prediction"/"confidence"; conformal: none
    label = f"{level}% {kind} interval" if kind else f"{level}% interval"
    ax.fill_between(xs, lower[order], upper[order], alpha=0.3, label=label)
    ax.plot(xs, mean[order], lw=1.2, label="prediction")
    if y is not None:
        yv = np.asarray(y, dtype=float).reshape(-1)[order]
        inside = _covered(yv, lower[order], upper[order])
        ax.scatter(
            xs[inside], yv[inside], s=8, c="k", label=f"observed (inside: {inside.mean():.1%})"
        )
        ax.scatter(
            xs[~inside], yv[~inside], s=14, c="tab:red", marker="x", label="observed (outside)"
        )
    ax.set_xlabel("observations ordered by prediction" if sort else "")
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def _time_axis(index):
    import pandas as pd

    if isinstance(index, pd.PeriodIndex):
        return index.to_timestamp()
    return index


def plot_forecast(
    history, forecast, *, actual=None, one_step=None, levels=(0.8, 0.95), ax=None, title=None
):
    """Fan chart: the series, a multi-step forecast band at several levels, and optionally
    the realised values and one-step-ahead intervals over a held-out span.

    Parameters
    ----------
    history : pandas.Series
        The observed series (its index is the time axis).
    forecast : PredictionIntervals
        From ``SparseRNN.predict_interval(steps=h)``; its index continues ``history``.
    actual : pandas.Series, optional
        Realised values after the training data.
    one_step : PredictionIntervals, optional
        One-step-ahead intervals (``predict_interval(series=...)``) over the held-out span.
    levels : sequence of float
        Coverage levels of the fan (each uses the forecast's own joint/marginal setting).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from bsdl.results import PredictionIntervals
    >>> h = pd.Series([1.0, 2.0, 1.5])
    >>> fc = PredictionIntervals([1.4, 1.3], [0.5, 0.7], index=pd.RangeIndex(3, 5))
    >>> len(plot_forecast(h, fc).axes)
    1
    """
    fig, ax = _axes(ax, (9, 4))
    ax.plot(_time_axis(history.index), history.to_numpy(), c="k", lw=1, label="observed")
    x = _time_axis(forecast.index)
    for level in sorted(levels, reverse=True):
        band = np.asarray(forecast.conf_int(alpha=1 - level))
        ax.fill_between(
            x, band[:, 0], band[:, 1], alpha=0.25, color="tab:blue", label=f"{level:.0%} forecast"
        )
    ax.plot(x, forecast.mean, c="tab:blue", lw=1.5, label="forecast")
    if one_step is not None:
        xo = _time_axis(one_step.index)
        level = 1 - one_step.alpha
        ax.fill_between(
            xo,
            one_step.lower,
            one_step.upper,
            alpha=0.25,
            color="tab:orange",
            label=f"{level:.0%} one-step intervals",
        )
    if actual is not None:
        ax.plot(_time_axis(actual.index), actual.to_numpy(), c="tab:red", lw=1, label="held out")
    ax.legend(loc="best", fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def plot_inclusion(estimator, *, ax=None, top: int | None = 30, title=None):
    """Bar chart of per-input posterior inclusion probabilities; selected inputs highlighted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, (8, 3.5))
    q = np.asarray(estimator.inclusion_probabilities_)
    names = (
        [str(n) for n in estimator.feature_names_in_]
        if hasattr(estimator, "feature_names_in_")
        else [f"x{i}" for i in range(len(q))]
    )
    order = np.argsort(-q)[:top] if top else np.arange(len(q))
    selected = np.isin(order, estimator.selected_features_)
    ax.bar(range(len(order)), q[order], color=np.where(selected, "tab:blue", "lightgray"))
    ax.axhline(0.5, ls="--", c="k", lw=0.8)
    ax.set_xticks(range(len(order)), [names[i] for i in order], rotation=60, fontsize=8)
    ax.set_ylabel("inclusion probability")
    ax.set_ylim(0, 1.05)
    if title:
        ax.set_title(title)
    return fig


def plot_history(estimator, *, title=None):
    """Training loss and sparsity per epoch, phases shaded. Returns the figure."""
    import matplotlib.pyplot as plt

    h = estimator.history_
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
    a1.plot(h.index, h["loss"])
    a1.set_yscale("log")
    a1.set_xlabel("epoch")
    a1.set_ylabel("training loss")
    a2.plot(h.index, h["sparsity"])
    a2.set_xlabel("epoch")
    a2.set_ylabel("fraction of weights below threshold")
    for ax in (a1, a2):
        for phase, grp in h.groupby("phase", sort=False):
            ax.axvspan(grp.index.min(), grp.index.max(), alpha=0.08)
            ax.text(grp.index.min(), ax.get_ylim()[1], phase, fontsize=7, va="top")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_interval_comparison(intervals: dict, *, title=None, max_points: int | None = 400):
    """One panel per method: the observed series, its intervals, and the misses.

    Parameters
    ----------
    intervals : dict
        ``{method: DataFrame}`` with columns ``y``, ``lower``, ``upper`` (and ``mean``),
        indexed by time, as returned by
        ``bsdl.compare.compare_intervals(..., return_intervals=True)``.
    title : str, optional
    max_points : int or None, default 400
        Plot only the last ``max_points`` test points (None: all).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bsdl.plotting import plot_interval_comparison
    >>> f = pd.DataFrame({"y": [0.0, 2.0], "lower": [-1.0, -1.0], "upper": [1.0, 1.0]})
    >>> fig = plot_interval_comparison({"split": f})
    >>> len(fig.axes)
    1
    """
    import matplotlib.pyplot as plt

    if not intervals:
        raise ValueError("intervals must hold at least one method")
    k = len(intervals)
    fig, axes = plt.subplots(k, 1, figsize=(9, 1.6 * k + 0.8), sharex=True, squeeze=False)
    for ax, (method, frame) in zip(axes[:, 0], intervals.items()):
        f = frame if max_points is None else frame.iloc[-max_points:]
        x = _time_axis(f.index)
        y = f["y"].to_numpy()
        lo, up = f["lower"].to_numpy(), f["upper"].to_numpy()
        miss = ~_covered(y, lo, up)
        ax.fill_between(x, lo, up, color="C0", alpha=0.3, lw=0, step="mid")
        ax.plot(x, y, color="k", lw=0.7)
        ax.plot(np.asarray(x)[miss], y[miss], "o", color="C3", ms=2.5)
        ax.set_ylabel(method, rotation=0, ha="right", va="center")
        ax.text(
            0.995,
            0.95,
            f"coverage {1 - miss.mean():.3f}, mean width {np.mean(up - lo):.3g}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
        )
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def plot_reliability(y_true, proba, *, n_bins: int = 10, ax=None, title=None):
    """Reliability diagram of a classifier: accuracy against confidence per bin.

    The figure of :func:`bsdl.metrics.reliability_diagram` (bars: each bin's accuracy at
    its mean confidence; the diagonal: perfect calibration; the title: the expected
    calibration error), drawn on ``ax`` or a new figure. Returns the figure.

    Examples
    --------
    >>> fig = plot_reliability([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.7], n_bins=2)
    >>> fig.axes[0].get_xlabel()
    'confidence (largest class probability)'
    """
    from bsdl.metrics import reliability_diagram

    _, ax = _axes(ax, (4.5, 4.5))
    return reliability_diagram(y_true, proba, n_bins, ax=ax, title=title)
