"""Simulators for the designs of Sun, Song & Liang (JASA 2022).

The three simulated data sets of "Consistent sparse deep learning: theory and
computation" share one covariate design: every covariate is the sum of a
row-level common factor and an independent idiosyncratic term, so all pairs of
covariates have the same correlation (0.5 in the paper), and only the first
four or five covariates enter the response. This makes variable selection
hard for marginal screening while keeping the true support known.

This module is layer L1: it depends on numpy, pandas and scikit-learn only.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

__all__ = [
    "make_sparse_regression",
    "make_sparse_classification",
    "make_structure_regression",
]

#: Bound at which the standard normal factors are truncated (reference code).
_TRUNCATION = 10.0

RandomStateLike = int | np.random.RandomState | np.random.Generator | None


# --------------------------------------------------------------------------- #
# argument validation
# --------------------------------------------------------------------------- #
def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def _check_real(
    value: Any,
    name: str,
    *,
    low: float,
    high: float = np.inf,
    low_inclusive: bool = True,
    high_inclusive: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__}).")
    value = float(value)
    ok_low = value >= low if low_inclusive else value > low
    ok_high = value <= high if high_inclusive else value < high
    if not (np.isfinite(value) and ok_low and ok_high):
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must lie in {left}{low}, {high}{right}, got {value}.")
    return value


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _check_rng(random_state: RandomStateLike) -> np.random.RandomState | np.random.Generator:
    """sklearn's ``check_random_state``, also accepting a ``numpy.random.Generator``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    try:
        return check_random_state(random_state)
    except ValueError as exc:
        raise ValueError(
            "random_state must be None, an int, a numpy RandomState or a numpy Generator, "
            f"got {random_state!r}."
        ) from exc


# --------------------------------------------------------------------------- #
# covariates
# --------------------------------------------------------------------------- #
def _truncated_normal(
    rng: np.random.RandomState | np.random.Generator, size: tuple[int, ...]
) -> np.ndarray:
    """Standard normal draws truncated to [-10, 10] by redrawing (vectorised)."""
    z = rng.standard_normal(size)
    bad = np.flatnonzero(np.abs(z) > _TRUNCATION)
    while bad.size:  # practically never entered: P(|Z| > 10) ~ 1.5e-23
        flat = z.reshape(-1)
        flat[bad] = rng.standard_normal(bad.size)
        bad = bad[np.abs(flat[bad]) > _TRUNCATION]
    return z


def _add_common_factor(z: np.ndarray, e: np.ndarray, correlation: float, scale: float) -> None:
    """In place: z <- scale * (sqrt(rho) e + sqrt(1 - rho) z), e broadcast over columns."""
    z *= scale * np.sqrt(1.0 - correlation)
    z += (scale * np.sqrt(correlation)) * e[:, None]


def _equicorrelated(
    rng: np.random.RandomState | np.random.Generator,
    n_samples: int,
    n_features: int,
    correlation: float,
    scale: float = 1.0,
) -> np.ndarray:
    """Rows x_i = scale * (sqrt(rho) e_i + sqrt(1 - rho) z_i), e_i, z_ij truncated N(0, 1)."""
    e = _truncated_normal(rng, (n_samples,))
    x = _truncated_normal(rng, (n_samples, n_features))
    _add_common_factor(x, e, correlation, scale)
    return x


# --------------------------------------------------------------------------- #
# mean functions (0-based columns)
# --------------------------------------------------------------------------- #
def _regression_mean(x: np.ndarray) -> np.ndarray:
    return 5.0 * x[:, 1] / (1.0 + x[:, 0] ** 2) + 5.0 * np.sin(x[:, 2] * x[:, 3]) + 2.0 * x[:, 4]


def _classification_latent(x: np.ndarray) -> np.ndarray:
    return np.exp(x[:, 0]) + x[:, 1] ** 2 + 5.0 * np.sin(x[:, 2] * x[:, 3]) - 3.0


def _structure_mean(x: np.ndarray) -> np.ndarray:
    return np.tanh(2.0 * np.tanh(2.0 * x[:, 0] - x[:, 1])) + 2.0 * np.tanh(
        2.0 * np.tanh(x[:, 2] - 2.0 * x[:, 3]) - np.tanh(2.0 * x[:, 4])
    )


# --------------------------------------------------------------------------- #
# output
# --------------------------------------------------------------------------- #
def _finish(
    x: np.ndarray,
    y: np.ndarray,
    support: np.ndarray,
    *,
    return_support: bool,
    as_frame: bool,
) -> tuple[Any, ...]:
    if as_frame:
        columns = [f"x{j + 1}" for j in range(x.shape[1])]
        out: tuple[Any, ...] = (pd.DataFrame(x, columns=columns), pd.Series(y, name="y"))
    else:
        out = (x, y)
    if return_support:
        out = (*out, support.copy())
    return out


# --------------------------------------------------------------------------- #
# public simulators
# --------------------------------------------------------------------------- #
def make_sparse_regression(
    n_samples: int = 1000,
    n_features: int = 1000,
    *,
    noise: float = 1.0,
    correlation: float = 0.5,
    random_state: RandomStateLike = None,
    return_support: bool = False,
    as_frame: bool = False,
) -> tuple[Any, ...]:
    r"""Simulate the sparse nonlinear regression design of Sun, Song & Liang (2022).

    The response depends on the first five of ``n_features`` equicorrelated
    covariates:

    .. math::

        y = \frac{5 x_2}{1 + x_1^2} + 5 \sin(x_3 x_4) + 2 x_5 + \varepsilon,
        \qquad \varepsilon \sim N(0, \mathrm{noise}^2),

    with covariates :math:`x_{ij} = \sqrt{\rho}\, e_i + \sqrt{1-\rho}\, z_{ij}`,
    where :math:`e_i` and :math:`z_{ij}` are independent standard normal
    variables truncated to :math:`[-10, 10]`. Every covariate has unit variance
    and every pair has correlation :math:`\rho` (``correlation``).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows, at least 1.
    n_features : int, default=1000
        Number of covariates, at least 5 (the first five are informative).
    noise : float, default=1.0
        Standard deviation of the Gaussian error, at least 0.
    correlation : float, default=0.5
        Common pairwise correlation :math:`\rho` of the covariates, in
        ``[0, 1)``. The paper uses 0.5, i.e. :math:`x = (e + z)/\sqrt{2}`.
    random_state : int, RandomState, Generator or None, default=None
        Seed or random number generator, as in scikit-learn's
        ``check_random_state`` (a ``numpy.random.Generator`` is accepted too).
        No global seed is set.
    return_support : bool, default=False
        If True, also return the 0-based indices of the informative
        covariates, ``array([0, 1, 2, 3, 4])``.
    as_frame : bool, default=False
        If True, return ``X`` as a DataFrame with columns ``x1, ..., xp``
        (1-based, as in the paper) and ``y`` as a Series named ``"y"``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or DataFrame
        Covariates, float64.
    y : ndarray of shape (n_samples,) or Series
        Response, float64.
    support : ndarray of shape (5,)
        0-based indices of the informative covariates; only when
        ``return_support=True``.

    See Also
    --------
    make_sparse_classification : the classification design of the same paper.
    make_structure_regression : the structure-selection design of the same paper.

    Notes
    -----
    The paper's experiments use ``n_samples=10000`` for training and
    ``n_features=2000`` in the reference code for this design; the defaults
    here are smaller so that examples run quickly.

    References
    ----------
    Y. Sun, Q. Song and F. Liang (2022). Consistent sparse deep learning:
    theory and computation. *Journal of the American Statistical Association*,
    117(540), 1981-1995.

    Examples
    --------
    >>> from bsdl.datasets import make_sparse_regression
    >>> X, y, support = make_sparse_regression(
    ...     n_samples=200, n_features=50, random_state=0, return_support=True)
    >>> X.shape, y.shape
    ((200, 50), (200,))
    >>> support
    array([0, 1, 2, 3, 4])
    >>> X_df, y_s = make_sparse_regression(n_samples=5, n_features=6, as_frame=True,
    ...                                    random_state=0)
    >>> list(X_df.columns), y_s.name
    (['x1', 'x2', 'x3', 'x4', 'x5', 'x6'], 'y')
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_features = _check_int(n_features, "n_features", 5)
    noise = _check_real(noise, "noise", low=0.0)
    correlation = _check_real(correlation, "correlation", low=0.0, high=1.0)
    return_support = _check_bool(return_support, "return_support")
    as_frame = _check_bool(as_frame, "as_frame")
    rng = _check_rng(random_state)

    x = _equicorrelated(rng, n_samples, n_features, correlation)
    y = _regression_mean(x) + noise * rng.standard_normal(n_samples)
    return _finish(x, y, np.arange(5), return_support=return_support, as_frame=as_frame)


def make_sparse_classification(
    n_samples: int = 1000,
    n_features: int = 1000,
    *,
    correlation: float = 0.5,
    balanced: bool = True,
    random_state: RandomStateLike = None,
    return_support: bool = False,
    as_frame: bool = False,
) -> tuple[Any, ...]:
    r"""Simulate the sparse nonlinear classification design of Sun, Song & Liang (2022).

    With the equicorrelated covariates of :func:`make_sparse_regression`, the
    label is the sign of a latent score of the first four covariates:

    .. math::

        t = e^{x_1} + x_2^2 + 5 \sin(x_3 x_4) - 3, \qquad y = 1\{t > 0\}.

    Roughly half of the unconstrained draws are positive (at ``correlation=0.5``;
    ``tests/test_datasets.py`` checks the share).
    With ``balanced=True`` rows are rejected and redrawn, as in the reference
    code, until exactly ``n_samples // 2`` rows are positive and the rest
    negative; the rows are then returned in random order.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows, at least 1.
    n_features : int, default=1000
        Number of covariates, at least 4 (the first four are informative).
    correlation : float, default=0.5
        Common pairwise correlation of the covariates, in ``[0, 1)``.
    balanced : bool, default=True
        If True, return exactly ``n_samples // 2`` positives and
        ``n_samples - n_samples // 2`` negatives by rejection sampling; within
        each class the covariates follow their conditional distribution given
        the class. If False, draw rows independently.
    random_state : int, RandomState, Generator or None, default=None
        Seed or random number generator (scikit-learn convention).
    return_support : bool, default=False
        If True, also return the 0-based indices of the informative
        covariates, ``array([0, 1, 2, 3])``.
    as_frame : bool, default=False
        If True, return ``X`` as a DataFrame with columns ``x1, ..., xp`` and
        ``y`` as a Series named ``"y"``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or DataFrame
        Covariates, float64.
    y : ndarray of shape (n_samples,) or Series
        Class labels 0 and 1, int64.
    support : ndarray of shape (4,)
        0-based indices of the informative covariates; only when
        ``return_support=True``.

    Notes
    -----
    Rejection only involves the four informative covariates and the common
    factor; the remaining covariates are conditionally independent of the
    label given the common factor and are drawn once for the accepted rows,
    so the cost does not grow with ``n_features`` times the number of
    rejections. The reference code accepts rows sequentially, which puts the
    surplus class at the end of the file; here the accepted rows are shuffled.

    References
    ----------
    Y. Sun, Q. Song and F. Liang (2022). Consistent sparse deep learning:
    theory and computation. *Journal of the American Statistical Association*,
    117(540), 1981-1995.

    Examples
    --------
    >>> from bsdl.datasets import make_sparse_classification
    >>> X, y = make_sparse_classification(n_samples=300, n_features=20, random_state=1)
    >>> X.shape, int(y.sum())
    ((300, 20), 150)
    >>> sorted(set(y.tolist()))
    [0, 1]
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_features = _check_int(n_features, "n_features", 4)
    correlation = _check_real(correlation, "correlation", low=0.0, high=1.0)
    balanced = _check_bool(balanced, "balanced")
    return_support = _check_bool(return_support, "return_support")
    as_frame = _check_bool(as_frame, "as_frame")
    rng = _check_rng(random_state)
    n_inf = 4

    if not balanced:
        x = _equicorrelated(rng, n_samples, n_features, correlation)
        y = (_classification_latent(x) > 0).astype(np.int64)
        return _finish(x, y, np.arange(n_inf), return_support=return_support, as_frame=as_frame)

    need = {1: n_samples // 2, 0: n_samples - n_samples // 2}
    kept_e: list[np.ndarray] = []
    kept_x: list[np.ndarray] = []
    kept_y: list[np.ndarray] = []
    while need[0] or need[1]:
        batch = 2 * max(need.values()) + 64
        e = _truncated_normal(rng, (batch,))
        xi = _truncated_normal(rng, (batch, n_inf))
        _add_common_factor(xi, e, correlation, 1.0)
        label = _classification_latent(xi) > 0
        for cls in (1, 0):
            if need[cls]:
                idx = np.flatnonzero(label == bool(cls))[: need[cls]]
                kept_e.append(e[idx])
                kept_x.append(xi[idx])
                kept_y.append(np.full(idx.size, cls, dtype=np.int64))
                need[cls] -= idx.size

    order = rng.permutation(n_samples)
    e = np.concatenate(kept_e)[order]
    y = np.concatenate(kept_y)[order]
    x = np.empty((n_samples, n_features))
    x[:, :n_inf] = np.concatenate(kept_x)[order]
    if n_features > n_inf:
        rest = _truncated_normal(rng, (n_samples, n_features - n_inf))
        _add_common_factor(rest, e, correlation, 1.0)
        x[:, n_inf:] = rest
    return _finish(x, y, np.arange(n_inf), return_support=return_support, as_frame=as_frame)


def make_structure_regression(
    n_samples: int = 1000,
    n_features: int = 1000,
    *,
    noise: float = 1.0,
    correlation: float = 0.5,
    x_scale: float = 1.0,
    random_state: RandomStateLike = None,
    return_support: bool = False,
    as_frame: bool = False,
) -> tuple[Any, ...]:
    r"""Simulate the structure-selection design of Sun, Song & Liang (2022).

    The response is itself a small sparse tanh network of the first five
    covariates, so a correctly selected network recovers its structure:

    .. math::

        y = \tanh\bigl(2 \tanh(2 x_1 - x_2)\bigr)
            + 2 \tanh\bigl(2 \tanh(x_3 - 2 x_4) - \tanh(2 x_5)\bigr) + \varepsilon,
        \qquad \varepsilon \sim N(0, \mathrm{noise}^2).

    Covariates are :math:`x_{ij} = s\,(\sqrt{\rho}\, e_i + \sqrt{1-\rho}\, z_{ij})`
    with :math:`e_i, z_{ij}` standard normal truncated to :math:`[-10, 10]`
    and :math:`s` = ``x_scale``.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows, at least 1.
    n_features : int, default=1000
        Number of covariates, at least 5 (the first five are informative).
    noise : float, default=1.0
        Standard deviation of the Gaussian error, at least 0.
    correlation : float, default=0.5
        Common pairwise correlation of the covariates, in ``[0, 1)``.
    x_scale : float, default=1.0
        Standard deviation :math:`s` of every covariate, positive. The
        reference code draws the *training* set with covariate variance 0.5
        (``x_scale=np.sqrt(0.5)``) and the validation and test sets with
        variance 1 (``x_scale=1``); pass ``x_scale=np.sqrt(0.5)`` to reproduce
        its training data.
    random_state : int, RandomState, Generator or None, default=None
        Seed or random number generator (scikit-learn convention).
    return_support : bool, default=False
        If True, also return the 0-based indices of the informative
        covariates, ``array([0, 1, 2, 3, 4])``.
    as_frame : bool, default=False
        If True, return ``X`` as a DataFrame with columns ``x1, ..., xp`` and
        ``y`` as a Series named ``"y"``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or DataFrame
        Covariates, float64.
    y : ndarray of shape (n_samples,) or Series
        Response, float64.
    support : ndarray of shape (5,)
        0-based indices of the informative covariates; only when
        ``return_support=True``.

    Notes
    -----
    The truncation at :math:`\pm 10` applies to the standard normal factors
    before scaling (the reference code truncates after scaling; with
    ``x_scale <= 1`` the difference has probability below :math:`10^{-22}`).

    References
    ----------
    Y. Sun, Q. Song and F. Liang (2022). Consistent sparse deep learning:
    theory and computation. *Journal of the American Statistical Association*,
    117(540), 1981-1995.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.datasets import make_structure_regression
    >>> X, y = make_structure_regression(n_samples=100, n_features=30,
    ...                                  x_scale=np.sqrt(0.5), random_state=0)
    >>> X.shape, y.shape
    ((100, 30), (100,))
    >>> X.dtype, y.dtype
    (dtype('float64'), dtype('float64'))
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_features = _check_int(n_features, "n_features", 5)
    noise = _check_real(noise, "noise", low=0.0)
    correlation = _check_real(correlation, "correlation", low=0.0, high=1.0)
    x_scale = _check_real(x_scale, "x_scale", low=0.0, low_inclusive=False)
    return_support = _check_bool(return_support, "return_support")
    as_frame = _check_bool(as_frame, "as_frame")
    rng = _check_rng(random_state)

    x = _equicorrelated(rng, n_samples, n_features, correlation, x_scale)
    y = _structure_mean(x) + noise * rng.standard_normal(n_samples)
    return _finish(x, y, np.arange(5), return_support=return_support, as_frame=as_frame)
