"""Conformity scores: how a residual is measured, and how a score quantile becomes an interval.

A score maps an observation ``y``, a point prediction and (for scaled scores) a
standard error to a non-negative number; :meth:`~ConformityScore.interval` turns a
quantile ``q`` of the calibration scores back into an interval. Every conformal
method in :mod:`bsdl.conformal` takes a ``score=`` argument: ``"absolute"``,
``"scaled"`` or an instance of a :class:`ConformityScore` subclass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["ConformityScore", "AbsoluteScore", "ScaledScore", "check_score"]


class ConformityScore:
    """Base class: the score of ``y`` against a prediction, and the interval of a quantile.

    Subclasses set ``needs_scale`` and implement :meth:`score` and :meth:`interval`.
    """

    needs_scale = False
    name = "score"

    def score(self, y: np.ndarray, pred: np.ndarray, scale: np.ndarray | None = None):
        raise NotImplementedError  # pragma: no cover

    def interval(self, pred: np.ndarray, q, scale: np.ndarray | None = None):
        raise NotImplementedError  # pragma: no cover

    def get_scale(self, estimator, X) -> np.ndarray | None:
        """The per-row scale the score needs (None for unscaled scores)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AbsoluteScore(ConformityScore):
    """``|y - prediction|``: intervals ``prediction -+ q`` of constant width.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import AbsoluteScore
    >>> s = AbsoluteScore()
    >>> s.score(np.array([1.0, 3.0]), np.array([2.0, 2.5]))
    array([1. , 0.5])
    >>> s.interval(np.array([0.0]), 2.0)
    (array([-2.]), array([2.]))
    """

    name = "absolute"

    def score(self, y, pred, scale=None):
        return np.abs(np.asarray(y, float) - np.asarray(pred, float))

    def interval(self, pred, q, scale=None):
        pred = np.asarray(pred, float)
        return pred - q, pred + q


def _predict_interval_se(estimator, X) -> np.ndarray:
    if not hasattr(estimator, "predict_interval"):
        raise TypeError(
            f"the scaled score needs a standard error: {type(estimator).__name__} has no "
            "predict_interval(X) returning an object with .se; pass ScaledScore(scale=fn) with "
            "fn(estimator, X) -> standard errors"
        )
    return np.asarray(estimator.predict_interval(X).se, dtype=float).reshape(-1)


class ScaledScore(ConformityScore):
    """``|y - prediction| / scale``: intervals ``prediction -+ q * scale``.

    The scale is a per-row standard error, so the interval keeps the model's shape
    (wide where the model is uncertain) while the quantile ``q`` calibrates its level.

    Parameters
    ----------
    scale : callable, optional
        ``scale(estimator, X) -> array`` of positive standard errors. By default the
        estimator's ``predict_interval(X).se`` (every bsdl model has it: the delta-method
        standard error).
    eps : float, default 1e-12
        Scales below ``eps`` are raised to it (a zero scale would divide by zero).

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import ScaledScore
    >>> s = ScaledScore()
    >>> s.score(np.array([1.0, 3.0]), np.array([0.0, 0.0]), scale=np.array([0.5, 3.0]))
    array([2., 1.])
    >>> s.interval(np.array([0.0, 1.0]), 2.0, scale=np.array([1.0, 0.5]))
    (array([-2.,  0.]), array([2., 2.]))
    """

    needs_scale = True
    name = "scaled"

    def __init__(self, scale: Callable | None = None, eps: float = 1e-12) -> None:
        if scale is not None and not callable(scale):
            raise TypeError(f"scale must be None or a callable(estimator, X), got {scale!r}")
        if not (isinstance(eps, int | float) and eps > 0):
            raise ValueError(f"eps must be a positive float, got {eps!r}")
        self.scale = scale
        self.eps = float(eps)

    def _checked(self, scale) -> np.ndarray:
        if scale is None:
            raise ValueError("the scaled score needs scale= (standard errors), got None")
        scale = np.asarray(scale, dtype=float)
        if not np.all(np.isfinite(scale)) or np.any(scale < 0):
            raise ValueError("scale must hold finite, non-negative standard errors")
        return np.maximum(scale, self.eps)

    def score(self, y, pred, scale=None):
        return np.abs(np.asarray(y, float) - np.asarray(pred, float)) / self._checked(scale)

    def interval(self, pred, q, scale=None):
        pred = np.asarray(pred, float)
        half = np.asarray(q, float) * self._checked(scale)
        return pred - half, pred + half

    def get_scale(self, estimator, X) -> np.ndarray:
        fn = self.scale if self.scale is not None else _predict_interval_se
        return self._checked(fn(estimator, X))

    def __repr__(self) -> str:
        return f"ScaledScore(scale={self.scale!r})"


_SCORES = {"absolute": AbsoluteScore, "scaled": ScaledScore}


def check_score(score) -> ConformityScore:
    """Turn ``"absolute"``, ``"scaled"`` or a :class:`ConformityScore` into an instance."""
    if isinstance(score, ConformityScore):
        return score
    if isinstance(score, str) and score in _SCORES:
        return _SCORES[score]()
    raise ValueError(
        f"score must be one of {sorted(_SCORES)} or a ConformityScore instance, got {score!r}"
    )
