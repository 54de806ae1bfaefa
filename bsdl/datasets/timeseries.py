"""Simulators of sparse autoregressive time series with a known set of relevant lags.

A sparse deep network fitted to the lagged values ``y_{t-1}, ..., y_{t-L}`` of a
series should select exactly the lags that drive it. The two simulators here
make series whose relevant lags are known:

- :func:`make_ar`, a stationary linear AR process with a sparse lag set and,
  optionally, exogenous regressors at given lags;
- :func:`make_nonlinear_ar`, a nonlinear AR process driven by lags
  :data:`NONLINEAR_AR_LAGS` ``= (1, 2, 5)``;
- :func:`make_even_ar`, a nonlinear AR process in which lag 3 enters only through an
  even function, so that it is (nearly) invisible to linear lag selection
  (:data:`EVEN_AR_LAGS` ``= (1, 3)``).

This module is layer L1: it depends on numpy, pandas, scipy and scikit-learn only.
No global random state is read or advanced.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.signal import lfilter

from .simulate import RandomStateLike, _check_bool, _check_int, _check_real, _check_rng

__all__ = [
    "NONLINEAR_AR_LAGS",
    "EVEN_AR_LAGS",
    "DEFAULT_AR_COEFS",
    "make_ar",
    "make_nonlinear_ar",
    "make_even_ar",
]

#: Lags that drive :func:`make_nonlinear_ar` (1-based).
NONLINEAR_AR_LAGS: tuple[int, ...] = (1, 2, 5)

#: Lags that drive :func:`make_even_ar` (1-based); lag 3 only through an even function.
EVEN_AR_LAGS: tuple[int, ...] = (1, 3)

#: Centring constant of :func:`make_even_ar`'s even term (see its docstring).
_EVEN_CENTRE = 0.43

#: Default sparse AR(7) of :func:`make_ar`, ``{lag: coefficient}``; its
#: characteristic roots have modulus at least 1.089, so it is stationary.
DEFAULT_AR_COEFS: dict[int, float] = {1: 0.5, 3: -0.3, 7: 0.2}

#: Sum of absolute AR coefficients drawn by ``make_ar(lags=...)`` (< 1: stationary).
_DRAWN_L1_NORM = 0.8


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def _rng(random_state: RandomStateLike) -> np.random.RandomState | np.random.Generator:
    """Like ``_check_rng`` but ``None`` gives a fresh Generator, not numpy's global one."""
    if random_state is None:
        return np.random.default_rng()
    return _check_rng(random_state)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _check_lag(value: Any, name: str, minimum: int) -> int:
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must contain integer lags >= {minimum}, got {value!r}.")
    return int(value)


def _check_coef(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must contain finite real coefficients, got {value!r}.")
    return float(value)


def _coef_dict(coefs: Any) -> dict[int, float]:
    """Normalise ``coefs`` (dict {lag: coef} or 1-D array, entry j-1 = lag j)."""
    if isinstance(coefs, dict):
        out = {_check_lag(lag, "coefs", 1): _check_coef(c, "coefs") for lag, c in coefs.items()}
    else:
        try:
            arr = np.asarray(coefs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"coefs must be a dict {{lag: coef}} or a 1-D array, got {coefs!r}."
            ) from exc
        if arr.ndim != 1:
            raise ValueError(f"coefs must be 1-D, got an array of shape {arr.shape}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError("coefs must contain finite real coefficients.")
        out = {j + 1: float(c) for j, c in enumerate(arr)}
    return {lag: c for lag, c in sorted(out.items()) if c != 0.0}


def _coef_vector(ar: dict[int, float]) -> np.ndarray:
    """Dense vector, entry j-1 = coefficient of lag j (empty for white noise)."""
    vec = np.zeros(max(ar, default=0))
    for lag, c in ar.items():
        vec[lag - 1] = c
    return vec


def _check_stationary(ar: dict[int, float]) -> None:
    """Raise unless every root of 1 - sum_j c_j z^j lies outside the unit circle."""
    vec = _coef_vector(ar)
    if vec.size == 0:
        return
    # Roots of the polynomial outside the unit circle <=> eigenvalues of the
    # companion matrix (roots of z^p - c_1 z^{p-1} - ... - c_p) inside it.
    modulus = np.abs(np.roots(np.r_[1.0, -vec])).max()
    if not modulus < 1.0 - 1e-10:
        raise ValueError(
            f"coefs {ar} define a non-stationary AR process: the characteristic "
            f"polynomial has a root of modulus {1.0 / modulus:.4g} <= 1 (all roots must lie "
            "outside the unit circle)."
        )


def _draw_coefs(lags: Any, rng: np.random.RandomState | np.random.Generator) -> dict[int, float]:
    """Alternating signs (+ for the smallest lag), magnitudes summing to 0.8."""
    if isinstance(lags, numbers.Integral | str):
        raise TypeError(f"lags must be an iterable of 1-based integer lags, got {lags!r}.")
    try:
        items = list(lags)
    except TypeError as exc:
        raise TypeError(f"lags must be an iterable of 1-based integer lags, got {lags!r}.") from exc
    lag_list = sorted({_check_lag(lag, "lags", 1) for lag in items})
    if not lag_list:
        raise ValueError("lags must contain at least one lag.")
    magnitude = rng.uniform(0.5, 1.0, size=len(lag_list))
    magnitude *= _DRAWN_L1_NORM / magnitude.sum()
    sign = np.where(np.arange(len(lag_list)) % 2 == 0, 1.0, -1.0)
    return {lag: float(s * m) for lag, s, m in zip(lag_list, sign, magnitude)}


def _exog_coef_dict(exog_coefs: Any, n_exog: int) -> dict[tuple[int, int], float]:
    if exog_coefs is None:
        return {(0, 0): 1.0}
    if not isinstance(exog_coefs, dict):
        raise TypeError(f"exog_coefs must be a dict {{(column, lag): coef}}, got {exog_coefs!r}.")
    out: dict[tuple[int, int], float] = {}
    for key, c in exog_coefs.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(_is_int(k) for k in key)):
            raise ValueError(f"exog_coefs keys must be (column, lag) integer pairs, got {key!r}.")
        col, lag = int(key[0]), int(key[1])
        if not 0 <= col < n_exog:
            raise ValueError(f"exog_coefs column {col} is out of range for exog={n_exog}.")
        if lag < 0:
            raise ValueError(f"exog_coefs lag must be >= 0, got {lag} for column {col}.")
        out[(col, lag)] = _check_coef(c, "exog_coefs")
    return dict(sorted(out.items()))


def _check_common(n, noise, burn, exog, as_series) -> tuple[int, float, int, int | None, bool]:
    """The arguments both simulators share, checked."""
    n = _check_int(n, "n", 1)
    noise = _check_real(noise, "noise", low=0.0, low_inclusive=False)
    burn = _check_int(burn, "burn", 0)
    if exog is not None:
        exog = _check_int(exog, "exog", 1)
    return n, noise, burn, exog, _check_bool(as_series, "as_series")


def _unwrap(out: tuple[Any, ...]) -> Any:
    return out[0] if len(out) == 1 else out


def _output(y: np.ndarray, x: np.ndarray | None, as_series: bool) -> tuple[Any, ...]:
    if as_series:
        ys: Any = pd.Series(y, index=pd.RangeIndex(y.size), name="y")
        if x is None:
            return (ys,)
        columns = [f"x{j}" for j in range(x.shape[1])]
        return ys, pd.DataFrame(x, index=pd.RangeIndex(y.size), columns=columns)
    return (y,) if x is None else (y, x)


# --------------------------------------------------------------------------- #
# public simulators
# --------------------------------------------------------------------------- #
def make_ar(
    n: int,
    coefs: dict[int, float] | ArrayLike | None = None,
    *,
    lags: ArrayLike | None = None,
    noise: float = 1.0,
    burn: int = 200,
    exog: int | None = None,
    exog_coefs: dict[tuple[int, int], float] | None = None,
    random_state: RandomStateLike = None,
    return_coefs: bool = False,
    as_series: bool = False,
) -> Any:
    r"""Simulate a stationary sparse linear autoregression, optionally with exogenous inputs.

    .. math::

        y_t = \sum_{j \in \mathcal{L}} \phi_j\, y_{t-j}
              + \sum_{(k, \ell)} \beta_{k\ell}\, x_{k,t-\ell}
              + \sigma \varepsilon_t, \qquad \varepsilon_t \overset{iid}{\sim} N(0, 1),

    where :math:`\mathcal{L}` is a sparse set of 1-based lags, :math:`x_{k,t}`
    are independent standard normal exogenous series and :math:`\sigma` is
    ``noise``. The process starts from zeros; the first ``burn`` values are
    discarded.

    Parameters
    ----------
    n : int
        Length of the returned series, at least 1.
    coefs : dict or array-like, optional
        AR coefficients, either ``{lag: coef}`` with 1-based lags (e.g.
        ``{1: 0.5, 3: -0.3, 7: 0.2}``) or a 1-D array whose entry ``j - 1``
        is the coefficient of lag ``j``. They must define a stationary process
        (every root of :math:`1 - \sum_j \phi_j z^j` outside the unit circle),
        otherwise a ValueError is raised. If None, see ``lags``.
    lags : iterable of int, optional
        Used only when ``coefs`` is None: the 1-based lags whose coefficients
        are drawn from ``random_state`` (before the series itself), with
        magnitudes :math:`U(0.5, 1)` rescaled so that their absolute values
        sum to 0.8 (which guarantees stationarity) and signs alternating
        ``+, -, +, ...`` in increasing lag order. If both ``coefs`` and
        ``lags`` are None, :data:`DEFAULT_AR_COEFS` ``= {1: 0.5, 3: -0.3,
        7: 0.2}`` is used.
    noise : float, default=1.0
        Innovation standard deviation :math:`\sigma`, positive and finite.
    burn : int, default=200
        Number of initial values discarded, at least 0.
    exog : int, optional
        Number of iid :math:`N(0, 1)` exogenous series to generate, at least 1.
        None (default) means no exogenous inputs.
    exog_coefs : dict, optional
        ``{(column, lag): coef}`` with 0-based ``column < exog`` and
        ``lag >= 0`` (0 = contemporaneous). Defaults to ``{(0, 0): 1.0}``:
        column 0 enters contemporaneously with coefficient 1, the other
        columns are irrelevant. Only allowed with ``exog``.
    random_state : int, RandomState, Generator or None, default=None
        Seed or random number generator. None gives fresh OS entropy; numpy's
        global random state is never read or advanced.
    return_coefs : bool, default=False
        If True, also return ``{"ar": {lag: coef}, "exog": {(column, lag):
        coef}}`` (``"exog"`` is empty without exogenous inputs).
    as_series : bool, default=False
        If True, return ``y`` as a Series named ``"y"`` with a RangeIndex and
        ``X`` as a DataFrame with columns ``x0, x1, ...``.

    Returns
    -------
    y : ndarray of shape (n,) or Series
        The series, float64.
    X : ndarray of shape (n, exog) or DataFrame
        The exogenous inputs aligned with ``y``; only when ``exog`` is given.
    coefs : dict
        Only when ``return_coefs=True``; always the last element.

    See Also
    --------
    make_nonlinear_ar : a nonlinear autoregression with known lags.

    Examples
    --------
    >>> from bsdl.datasets import make_ar
    >>> y = make_ar(500, random_state=0)
    >>> y.shape, y.dtype
    ((500,), dtype('float64'))
    >>> y, X, truth = make_ar(300, {1: 0.6, 4: -0.2}, exog=3, random_state=0,
    ...                       return_coefs=True)
    >>> X.shape, truth
    ((300, 3), {'ar': {1: 0.6, 4: -0.2}, 'exog': {(0, 0): 1.0}})
    >>> make_ar(10, [0.5, 0.0, -0.3], random_state=1, as_series=True).name
    'y'
    >>> make_ar(10, {1: 1.2})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: coefs {1: 1.2} define a non-stationary AR process: ...
    """
    n, noise, burn, exog, as_series = _check_common(n, noise, burn, exog, as_series)
    if exog is None and exog_coefs is not None:
        raise ValueError("exog_coefs is given but exog is None; set exog to the number of inputs.")
    return_coefs = _check_bool(return_coefs, "return_coefs")
    rng = _rng(random_state)

    if coefs is not None:
        if lags is not None:
            raise ValueError("give either coefs or lags, not both.")
        ar = _coef_dict(coefs)
    elif lags is not None:
        ar = _draw_coefs(lags, rng)
    else:
        ar = dict(DEFAULT_AR_COEFS)
    _check_stationary(ar)
    beta = _exog_coef_dict(exog_coefs, exog) if exog is not None else {}

    total = burn + n
    drive = np.zeros(total)
    x = None
    if exog is not None:
        pre = max(lag for _, lag in beta) if beta else 0
        x_all = rng.standard_normal((pre + total, exog))
        for (col, lag), b in beta.items():
            drive += b * x_all[pre - lag : pre - lag + total, col]
        x = x_all[pre + burn :]
    drive += noise * rng.standard_normal(total)
    y = lfilter([1.0], np.r_[1.0, -_coef_vector(ar)], drive)[burn:]

    out = _output(np.ascontiguousarray(y, dtype=np.float64), x, as_series)
    if return_coefs:
        out = (*out, {"ar": ar, "exog": beta})
    return _unwrap(out)


def make_nonlinear_ar(
    n: int,
    *,
    noise: float = 1.0,
    burn: int = 200,
    exog: int | None = None,
    random_state: RandomStateLike = None,
    as_series: bool = False,
) -> Any:
    r"""Simulate a nonlinear autoregression driven by lags 1, 2 and 5.

    .. math::

        y_t = 0.5\, y_{t-1} - 0.7 \tanh(y_{t-2}) + 0.3 \sin(y_{t-5})
              \;[+\, 0.8 \tanh(x_{0,t})] + \sigma \varepsilon_t,
        \qquad \varepsilon_t \overset{iid}{\sim} N(0, 1).

    The relevant lags are :data:`NONLINEAR_AR_LAGS` ``= (1, 2, 5)``. The
    nonlinear terms are bounded and the linear part has coefficient 0.5, so
    the process is geometrically ergodic. It starts from zeros; the first
    ``burn`` values are discarded. With ``exog`` given, ``exog`` iid
    :math:`N(0, 1)` series are generated and the bracketed term
    :math:`0.8 \tanh(x_{0,t})` of the contemporaneous first column is added;
    the other columns are irrelevant.

    Parameters
    ----------
    n : int
        Length of the returned series, at least 1.
    noise : float, default=1.0
        Innovation standard deviation :math:`\sigma`, positive and finite.
    burn : int, default=200
        Number of initial values discarded, at least 0.
    exog : int, optional
        Number of exogenous series, at least 1; None (default) for none.
    random_state : int, RandomState, Generator or None, default=None
        Seed or random number generator. None gives fresh OS entropy; numpy's
        global random state is never read or advanced.
    as_series : bool, default=False
        If True, return ``y`` as a Series named ``"y"`` with a RangeIndex and
        ``X`` as a DataFrame with columns ``x0, x1, ...``.

    Returns
    -------
    y : ndarray of shape (n,) or Series
        The series, float64.
    X : ndarray of shape (n, exog) or DataFrame
        The exogenous inputs aligned with ``y``; only when ``exog`` is given.

    See Also
    --------
    make_ar : a sparse linear autoregression.

    Examples
    --------
    >>> from bsdl.datasets import NONLINEAR_AR_LAGS, make_nonlinear_ar
    >>> y = make_nonlinear_ar(400, random_state=0)
    >>> y.shape, NONLINEAR_AR_LAGS
    ((400,), (1, 2, 5))
    >>> y, X = make_nonlinear_ar(100, exog=2, random_state=0, as_series=True)
    >>> list(X.columns), len(y)
    (['x0', 'x1'], 100)
    """
    n, noise, burn, exog, as_series = _check_common(n, noise, burn, exog, as_series)
    rng = _rng(random_state)

    total = burn + n
    x = None
    drive = np.zeros(total)
    if exog is not None:
        x_all = rng.standard_normal((total, exog))
        drive += 0.8 * np.tanh(x_all[:, 0])
        x = x_all[burn:]
    drive += noise * rng.standard_normal(total)

    p = max(NONLINEAR_AR_LAGS)
    buf = [0.0] * p + drive.tolist()  # p zeros as the starting values
    for t in range(p, p + total):
        buf[t] += 0.5 * buf[t - 1] - 0.7 * np.tanh(buf[t - 2]) + 0.3 * np.sin(buf[t - 5])
    y = np.asarray(buf[p + burn :], dtype=np.float64)

    return _unwrap(_output(y, x, as_series))


def make_even_ar(
    n: int,
    *,
    noise: float = 1.0,
    burn: int = 200,
    random_state: RandomStateLike = None,
    as_series: bool = False,
) -> Any:
    r"""Simulate a nonlinear autoregression whose lag 3 enters only through an even function.

    .. math::

        y_t = 0.5\, y_{t-1} + 2 \left(e^{-y_{t-3}^2} - 0.43\right)
              + \sigma \varepsilon_t,
        \qquad \varepsilon_t \overset{iid}{\sim} N(0, 1).

    The relevant lags are :data:`EVEN_AR_LAGS` ``= (1, 3)``. Lag 3 acts through the
    Gaussian bump :math:`e^{-y^2}`, an even function: it raises the next-but-two value
    when :math:`y_{t-3}` is near 0 and lowers it when :math:`|y_{t-3}|` is large, whatever
    the sign. The constant 0.43 is close to :math:`E[e^{-y^2}]` under the stationary law
    of the default ``noise=1``, so that the even term has mean near zero and the series a
    mean near zero; its distribution is then close to symmetric about 0, and
    :math:`y_{t-3}` has almost no *linear* correlation with :math:`y_t` given
    :math:`y_{t-1}` and :math:`y_{t-2}`. A linear lag search (AIC or BIC over orders or
    over all lag subsets) therefore rarely keeps lag 3, although the bump explains a
    large share of the variance: the design separates linear from nonlinear lag
    selection. (With another ``noise`` the constant no longer centres the term and a
    linear trace of lag 3 appears.)

    The nonlinear term is bounded (between -0.86 and 1.14) and the linear part has
    coefficient 0.5, so the process is geometrically ergodic (stationary). It starts from
    zeros; the first ``burn`` values are discarded.

    Parameters
    ----------
    n : int
        Length of the returned series, at least 1.
    noise : float, default=1.0
        Innovation standard deviation :math:`\sigma`, positive and finite.
    burn : int, default=200
        Number of initial values discarded, at least 0.
    random_state : int, RandomState, Generator or None, default=None
        Seed or random number generator. None gives fresh OS entropy; numpy's
        global random state is never read or advanced.
    as_series : bool, default=False
        If True, return a Series named ``"y"`` with a RangeIndex.

    Returns
    -------
    y : ndarray of shape (n,) or Series
        The series, float64.

    See Also
    --------
    make_nonlinear_ar : nonlinear terms close to linear near 0 (tanh, sin).
    make_ar : a sparse linear autoregression.

    Examples
    --------
    >>> from bsdl.datasets import EVEN_AR_LAGS, make_even_ar
    >>> y = make_even_ar(500, random_state=0)
    >>> y.shape, y.dtype, EVEN_AR_LAGS
    ((500,), dtype('float64'), (1, 3))
    >>> make_even_ar(10, random_state=0, as_series=True).name
    'y'
    """
    n, noise, burn, _, as_series = _check_common(n, noise, burn, None, as_series)
    rng = _rng(random_state)

    total = burn + n
    drive = noise * rng.standard_normal(total)
    p = max(EVEN_AR_LAGS)
    buf = [0.0] * p + drive.tolist()  # p zeros as the starting values
    for t in range(p, p + total):
        buf[t] += 0.5 * buf[t - 1] + 2.0 * (np.exp(-(buf[t - 3] ** 2)) - _EVEN_CENTRE)
    y = np.asarray(buf[p + burn :], dtype=np.float64)
    return _unwrap(_output(y, None, as_series))
