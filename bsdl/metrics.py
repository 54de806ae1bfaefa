"""Calibration metrics for probabilistic predictions (layer L1, numpy only).

For classifiers: expected calibration error (:func:`expected_calibration_error`), the
reliability table (:func:`reliability_table`) and its diagram
(:func:`reliability_diagram`, a matplotlib figure; matplotlib is imported only there), the
negative log-likelihood (:func:`log_loss`) and the Brier score (:func:`brier_score`). For
regression and series: the coverage curve of intervals across nominal levels
(:func:`coverage_curve`), from any object with ``conf_int(alpha)`` (e.g.
:class:`~bsdl.results.PredictionIntervals`, :class:`~bsdl.results.PosteriorIntervals`, a
series forecaster's intervals) or a callable ``alpha -> (lower, upper)``.

Interval metrics at one level (coverage, width, interval score) live in
:mod:`bsdl.conformal.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bsdl._validation import check_alpha

__all__ = [
    "expected_calibration_error",
    "reliability_table",
    "reliability_diagram",
    "log_loss",
    "brier_score",
    "coverage_curve",
]


def _check_proba(y_true, proba) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels 0..C-1 ``(n,)`` and probabilities ``(n, C)`` (a vector: P(class 1))."""
    p = np.array(proba, dtype=np.float64, copy=True)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"proba must be (n,) or (n, n_classes) with >= 2 classes, got {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError("proba must hold finite probabilities in [0, 1]")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError("each row of proba must sum to 1")
    y = np.asarray(y_true)
    if y.ndim != 1 or y.shape[0] != p.shape[0]:
        raise ValueError(
            f"y_true must be 1-D with one label per row of proba ({p.shape[0]}), got {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("y_true must hold integer class codes 0..n_classes-1")
        y = y.astype(np.int64)
    if (y < 0).any() or (y >= p.shape[1]).any():
        raise ValueError(f"y_true must hold class codes in 0..{p.shape[1] - 1}")
    return y, p


def reliability_table(y_true, proba, n_bins: int = 10) -> pd.DataFrame:
    """Top-label reliability: per confidence bin, mean confidence, accuracy and count.

    Each prediction's confidence is its largest class probability; bins are equal-width on
    [1/C, 1] (C classes). Empty bins are dropped.

    Examples
    --------
    >>> import numpy as np
    >>> t = reliability_table([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.7], n_bins=2)
    >>> t["count"].tolist()
    [2, 2]
    """
    y, p = _check_proba(y_true, proba)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}")
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(1.0 / p.shape[1], 1.0, int(n_bins) + 1)
    which = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, int(n_bins) - 1)
    rows = []
    for b in range(int(n_bins)):
        sel = which == b
        if sel.any():
            rows.append(
                {
                    "bin_lower": edges[b],
                    "bin_upper": edges[b + 1],
                    "confidence": conf[sel].mean(),
                    "accuracy": correct[sel].mean(),
                    "count": int(sel.sum()),
                }
            )
    return pd.DataFrame(rows)


def expected_calibration_error(y_true, proba, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean of ``|accuracy - confidence|`` over the reliability bins.

    Examples
    --------
    >>> round(expected_calibration_error([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.7], n_bins=2), 4)
    0.25
    """
    table = reliability_table(y_true, proba, n_bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["accuracy"] - table["confidence"]).abs()).sum())


def reliability_diagram(y_true, proba, n_bins: int = 10, *, ax=None, title: str | None = None):
    """Reliability diagram: per confidence bin, accuracy against mean confidence.

    Bars show each bin's accuracy at its mean confidence (width: the bin, see
    :func:`reliability_table`), the dashed diagonal is perfect calibration and the title
    gives the expected calibration error. Draws on ``ax`` when given, else on a new
    figure; returns the figure.

    Examples
    --------
    >>> fig = reliability_diagram([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.7], n_bins=2)
    >>> fig.axes[0].get_title()
    'Reliability (ECE = 0.250)'
    """
    table = reliability_table(y_true, proba, n_bins)
    ece = expected_calibration_error(y_true, proba, n_bins)
    if ax is None:
        import matplotlib.pyplot as plt  # imported lazily: only the figure needs it

        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    else:
        fig = ax.figure
    ax.bar(
        table["confidence"],
        table["accuracy"],
        width=(table["bin_upper"] - table["bin_lower"]) * 0.9,
        color="C0",
        alpha=0.7,
        label="accuracy",
    )
    lo = float(table["bin_lower"].min()) if len(table) else 0.5
    ax.plot([lo, 1.0], [lo, 1.0], "k--", lw=1, label="calibrated")
    ax.set_xlabel("confidence (largest class probability)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title(title or f"Reliability (ECE = {ece:.3f})")
    return fig


def log_loss(y_true, proba, eps: float = 1e-15) -> float:
    """Mean negative log-likelihood ``-mean log p(y_i)`` (probabilities clipped at ``eps``).

    Examples
    --------
    >>> round(log_loss([1, 0], [0.5, 0.5]), 4)
    0.6931
    """
    y, p = _check_proba(y_true, proba)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], eps, 1.0))))


def brier_score(y_true, proba) -> float:
    """Mean over samples of ``sum_c (p_c - 1{y = c})^2`` (multi-class Brier score).

    For two classes this is twice the usual binary score ``mean (p_1 - y)^2``.

    Examples
    --------
    >>> brier_score([1, 0], [1.0, 0.0])
    0.0
    """
    y, p = _check_proba(y_true, proba)
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))


def coverage_curve(
    intervals, y, levels: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
) -> pd.DataFrame:
    """Empirical coverage of ``y`` by the intervals at each nominal level.

    Parameters
    ----------
    intervals : object with ``conf_int(alpha)`` or callable
        ``conf_int(alpha)`` returning an ``(n, 2)`` array or a DataFrame of ``lower``,
        ``upper`` (as :class:`~bsdl.results.PredictionIntervals` does), or a callable
        ``alpha -> (lower, upper)``.
    y : array-like of shape (n,)
        The observed values.
    levels : sequence of float
        Nominal levels ``1 - alpha`` in (0, 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``coverage``, ``binomial_se`` (``sqrt(level (1 - level) / n)``,
        the sd of the coverage of calibrated intervals with independent misses).

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.results import PredictionIntervals
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=2000)
    >>> pi = PredictionIntervals(np.zeros(2000), np.ones(2000))
    >>> curve = coverage_curve(pi, y, levels=[0.5, 0.9])
    >>> bool((abs(curve["coverage"] - curve["level"]) < 3 * curve["binomial_se"]).all())
    True
    """
    yv = np.asarray(y, dtype=np.float64).reshape(-1)
    if not np.isfinite(yv).all():
        raise ValueError("y contains NaN or inf")
    rows = []
    for level in levels:
        alpha = check_alpha(1.0 - float(level), "1 - level")
        bounds = intervals(alpha) if callable(intervals) else intervals.conf_int(alpha)
        if isinstance(bounds, pd.DataFrame):
            bounds = bounds.to_numpy()
        if isinstance(bounds, tuple):
            lower, upper = (np.asarray(b, dtype=np.float64).reshape(-1) for b in bounds)
        else:
            arr = np.asarray(bounds, dtype=np.float64)
            lower, upper = arr[..., 0].reshape(-1), arr[..., 1].reshape(-1)
        if lower.shape != yv.shape or upper.shape != yv.shape:
            raise ValueError(
                f"the intervals have {lower.size} points but y has {yv.size}: they must match"
            )
        rows.append(
            {
                "level": float(level),
                "coverage": float(np.mean((yv >= lower) & (yv <= upper))),
                "binomial_se": float(np.sqrt(level * (1 - level) / yv.size)),
            }
        )
    return pd.DataFrame(rows)
