"""Linear autoregressions as the baselines of bsdl's lag selection and forecasts (layer L5).

Two helpers put statsmodels' strongest classical answers beside a sparse network:

- :func:`ar_lag_search` runs :func:`statsmodels.tsa.ar_model.ar_select_order` either over
  the contiguous orders ``1..p`` or, with ``glob=True``, over *every subset* of the lags
  ``1..max_lag`` (statsmodels' global search), and keeps AIC, BIC and HQIC of every
  candidate. A subset search can recover a lag set with gaps such as ``{1, 3, 7}``, which
  the contiguous orders never can, so it is the fair linear baseline of
  :func:`bsdl.selection.select_ar_order`.
- :func:`autoreg_forecasts` fits :class:`statsmodels.tsa.ar_model.AutoReg` at a given lag
  set (e.g. the global-BIC lags) and returns, as :class:`~bsdl.PredictionIntervals`, the
  one-step forecasts along a continuation and the recursive ``steps``-ahead forecast path,
  the two forecasts :meth:`bsdl.SparseRNN.predict_interval` gives.

The global search fits one least-squares regression per subset: ``2**max_lag`` fits (1024
for ``max_lag=10``, 4096 for 12, 65536 for 16), all on the same sample (the first
``max_lag`` values held back). :func:`resolve_global_search` is the guard that
:func:`~bsdl.selection.select_ar_order` uses: ``"auto"`` runs the search only up to
:data:`GLOBAL_SEARCH_AUTO_MAX_LAG` lags, and even a forced search refuses more than
:data:`GLOBAL_SEARCH_MAX_LAG`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd

from bsdl._series import check_series
from bsdl._validation import check_alpha, check_in_options, check_positive_int
from bsdl.results import PredictionIntervals

__all__ = [
    "GLOBAL_SEARCH_AUTO_MAX_LAG",
    "GLOBAL_SEARCH_MAX_LAG",
    "LagSearch",
    "AutoRegForecasts",
    "ar_lag_search",
    "baseline_bic_lags",
    "autoreg_forecasts",
    "resolve_global_search",
]

#: ``global_search="auto"`` runs statsmodels' subset search only for ``max_lag`` up to this
#: (2**12 = 4096 least-squares fits).
GLOBAL_SEARCH_AUTO_MAX_LAG = 12
#: A forced subset search (``global_search=True``) refuses more lags than this (2**16 fits).
GLOBAL_SEARCH_MAX_LAG = 16

_TRENDS = ("n", "c", "t", "ct")


def resolve_global_search(global_search, max_lag: int) -> tuple[bool, str]:
    """Whether to run the all-subsets lag search, and a sentence saying why.

    Parameters
    ----------
    global_search : {"auto", True, False}
        ``"auto"``: run it when ``max_lag <= GLOBAL_SEARCH_AUTO_MAX_LAG``. ``True``: run it,
        refused (``ValueError``) when ``max_lag > GLOBAL_SEARCH_MAX_LAG``. ``False``: never.
    max_lag : int
        Largest candidate lag; the search fits ``2**max_lag`` regressions.

    Returns
    -------
    run : bool
    note : str
        Empty when the search runs; otherwise why it does not.

    Raises
    ------
    ValueError
        ``global_search`` is not one of the three values, or it is ``True`` with
        ``max_lag > GLOBAL_SEARCH_MAX_LAG``.

    Examples
    --------
    >>> from bsdl.baselines import resolve_global_search
    >>> resolve_global_search("auto", 10)
    (True, '')
    >>> resolve_global_search("auto", 14)[0]
    False
    """
    max_lag = check_positive_int(max_lag, "max_lag")
    if global_search is True:
        if max_lag > GLOBAL_SEARCH_MAX_LAG:
            raise ValueError(
                f"global_search=True with max_lag={max_lag}: the subset search fits "
                f"2**max_lag = {2**max_lag} regressions; it is allowed up to max_lag="
                f"{GLOBAL_SEARCH_MAX_LAG}. Use global_search='auto' or False, or fewer lags."
            )
        return True, ""
    if global_search is False:
        return False, "global search not run (global_search=False)"
    if isinstance(global_search, str) and global_search == "auto":
        if max_lag <= GLOBAL_SEARCH_AUTO_MAX_LAG:
            return True, ""
        return False, (
            f"global search not run: max_lag={max_lag} > {GLOBAL_SEARCH_AUTO_MAX_LAG} "
            f"(global_search='auto'; it would fit 2**{max_lag} = {2**max_lag} regressions, "
            f"global_search=True forces it up to max_lag={GLOBAL_SEARCH_MAX_LAG})"
        )
    raise ValueError(f"global_search must be 'auto', True or False, got {global_search!r}")


def _lag_tuple(key) -> tuple[int, ...]:
    """statsmodels' candidate key (``0`` or a tuple of lags) as a tuple of ints."""
    if isinstance(key, tuple | list | np.ndarray):
        return tuple(int(j) for j in key)
    return ()


@dataclass
class LagSearch:
    """Lags chosen by AIC and BIC over the candidates of one search, with every criterion.

    Attributes
    ----------
    search : {"contiguous", "global"}
        ``"contiguous"``: the orders ``1..p``, ``p = 0..max_lag``; ``"global"``: every
        subset of ``1..max_lag``.
    max_lag : int
    trend : str
        Deterministic terms of every candidate (statsmodels' ``trend``).
    aic_lags, bic_lags : ndarray of int
        Lags of the candidate with the smallest AIC / BIC (empty: no lag).
    criteria : pandas.DataFrame
        One row per candidate, sorted by BIC: ``lags`` (tuple), ``n_lags``, ``aic``, ``bic``,
        ``hqic`` (statsmodels' values, all on the same sample).
    """

    search: str
    max_lag: int
    trend: str
    aic_lags: np.ndarray
    bic_lags: np.ndarray
    criteria: pd.DataFrame


def ar_lag_search(series, max_lag: int, *, glob: bool = False, trend: str = "c") -> LagSearch:
    """AIC and BIC lag selection of a linear AR over contiguous orders or all lag subsets.

    One call of :func:`statsmodels.tsa.ar_model.ar_select_order` (``ic="bic"``) computes
    every criterion of every candidate; the AIC choice is read from the same table, which
    is what ``ar_select_order(..., ic="aic")`` returns.

    Parameters
    ----------
    series : array-like or pandas Series
        Univariate series without missing values.
    max_lag : int
        Largest candidate lag (statsmodels' ``maxlag``).
    glob : bool, default False
        False: orders ``1..p``; True: every subset of ``1..max_lag`` (``2**max_lag`` fits;
        refused beyond :data:`GLOBAL_SEARCH_MAX_LAG`).
    trend : {"n", "c", "t", "ct"}, default "c"
        Deterministic terms of every candidate.

    Returns
    -------
    LagSearch

    Raises
    ------
    ValueError
        Bad ``max_lag``, ``trend``, a series with missing values or too short for
        ``max_lag``, or ``glob=True`` with ``max_lag > GLOBAL_SEARCH_MAX_LAG``.

    Examples
    --------
    >>> from bsdl.baselines import ar_lag_search
    >>> from bsdl.datasets import make_ar
    >>> y = make_ar(1000, random_state=0)  # true lags {1, 3, 7}
    >>> ar_lag_search(y, 8, glob=True).bic_lags.tolist()
    [1, 3, 7]
    >>> ar_lag_search(y, 8).bic_lags.tolist()  # an order keeps every lag up to it
    [1, 2, 3, 4, 5, 6, 7]
    """
    from statsmodels.tsa.ar_model import ar_select_order

    max_lag = check_positive_int(max_lag, "max_lag")
    trend = check_in_options(trend, "trend", _TRENDS)
    if not isinstance(glob, bool | np.bool_):
        raise TypeError(f"glob must be True or False, got {glob!r}")
    if glob:
        resolve_global_search(True, max_lag)
    y, _, _ = check_series(series, "series")
    n_params = max_lag + len(trend.replace("n", ""))
    if y.size - max_lag <= n_params:
        raise ValueError(
            f"series has {y.size} observations: too few for max_lag={max_lag} (the largest "
            f"candidate has {n_params} coefficients on {y.size - max_lag} observations)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' notes on the index and convergence
        res = ar_select_order(y, maxlag=max_lag, ic="bic", glob=bool(glob), trend=trend)
    keys = list(res.bic)  # sorted by BIC, as statsmodels' selection
    criteria = pd.DataFrame(
        {
            "lags": [_lag_tuple(k) for k in keys],
            "n_lags": [len(_lag_tuple(k)) for k in keys],
            "aic": [float(res.aic[k]) for k in keys],
            "bic": [float(res.bic[k]) for k in keys],
            "hqic": [float(res.hqic[k]) for k in keys],
        }
    )
    return LagSearch(
        search="global" if glob else "contiguous",
        max_lag=max_lag,
        trend=trend,
        aic_lags=np.asarray(_lag_tuple(next(iter(res.aic))), dtype=int),
        bic_lags=np.asarray(_lag_tuple(keys[0]), dtype=int),
        criteria=criteria,
    )


def baseline_bic_lags(series, max_lag: int, *, trend: str = "c") -> LagSearch:
    """The BIC lags of the linear baseline: the global search when affordable, else orders.

    The rule of every comparison against AutoReg in bsdl (``bsdl.compare``'s ``"autoreg"``
    method, the vignettes): with ``max_lag <= GLOBAL_SEARCH_AUTO_MAX_LAG`` candidate lags,
    the best of all ``2**max_lag`` lag subsets by BIC (``ar_lag_search(..., glob=True)``);
    with more, the contiguous BIC order ``1..p``. ``LagSearch.search`` says which ran.

    Parameters
    ----------
    series : array-like or pandas Series
        The series the lags are chosen on (only past data: a training span).
    max_lag : int
        Largest candidate lag (e.g. the ``lags`` of the ``SparseRNN`` it is compared with).
    trend : {"n", "c", "t", "ct"}, default "c"

    Returns
    -------
    LagSearch
        Read ``bic_lags``.

    Examples
    --------
    >>> from bsdl.baselines import baseline_bic_lags
    >>> from bsdl.datasets import make_ar
    >>> s = baseline_bic_lags(make_ar(1000, random_state=0), 8)
    >>> s.search, s.bic_lags.tolist()
    ('global', [1, 3, 7])
    >>> baseline_bic_lags(make_ar(1000, random_state=0), 14).search
    'contiguous'
    """
    run, _ = resolve_global_search("auto", max_lag)
    return ar_lag_search(series, max_lag, glob=run, trend=trend)


@dataclass
class AutoRegForecasts:
    """An AutoReg fit at fixed lags and its forecasts (see :func:`autoreg_forecasts`).

    Attributes
    ----------
    lags : ndarray of int
        The lags of the fit (empty: the mean model).
    trend : str
    params : pandas.Series
        statsmodels' coefficients (``const``, ``y.L1``, ...).
    sigma : float
        Innovation sd, ``sqrt(RSS / nobs)`` (statsmodels' ``sigma2``).
    nobs : int
        Observations used by the fit (the series less the first ``max(lags)``).
    aic, bic : float
        statsmodels' criteria of the fit.
    one_step : PredictionIntervals or None
        One-step forecasts along ``series`` (when given).
    path : PredictionIntervals or None
        Recursive forecasts ``1..steps`` beyond the training data (when ``steps > 0``).
    """

    lags: np.ndarray
    trend: str
    params: pd.Series
    sigma: float
    nobs: int
    aic: float
    bic: float
    one_step: PredictionIntervals | None
    path: PredictionIntervals | None


def _check_lags(lags) -> list[int]:
    """A set of 1-based lags as a sorted list (empty: the mean model)."""
    if lags is None or isinstance(lags, bool | str | Integral):
        raise TypeError(f"lags must be a sequence of positive integer lags, got {lags!r}")
    try:
        items = list(lags)
    except TypeError:
        raise TypeError(f"lags must be a sequence of positive integer lags, got {lags!r}") from None
    for j in items:
        if isinstance(j, bool | np.bool_) or not isinstance(j, Integral) or j < 1:
            raise ValueError(f"lags must hold positive integer lags, got {j!r}")
    out = sorted(int(j) for j in items)
    if len(set(out)) != len(out):
        raise ValueError(f"lags has a repeated lag: {out}")
    return out


def autoreg_forecasts(
    train,
    lags,
    *,
    series=None,
    steps: int = 0,
    alpha: float = 0.05,
    trend: str = "c",
    joint: bool = True,
) -> AutoRegForecasts:
    """Fit ``statsmodels`` AutoReg at the given lags; one-step and h-step forecasts.

    The comparison model of :func:`bsdl.selection.select_ar_order` and ``make demo``: an
    AutoReg at, for example, the global-BIC lags of :func:`ar_lag_search`.

    Parameters
    ----------
    train : array-like or pandas Series
        The training series; a pandas index (dates, periods or integers) labels the
        forecasts.
    lags : sequence of int
        1-based lags of the model, e.g. ``[1, 2, 9]``; empty for the mean model.
    series : array-like or pandas Series, optional
        The whole history, training values first, then the new ones (as for
        :meth:`bsdl.SparseRNN.predict_interval`'s ``series=``). Every point after the first
        ``max(lags)`` gets a one-step forecast from its own past with the parameters
        fitted on ``train`` (no refit). Labelled by its own index (positions ``0..`` for
        an array).
    steps : int, default 0
        Horizons ``1..steps`` of the recursive forecast beyond ``train`` (0: none).
    alpha : float, default 0.05
        Significance level of the intervals (0.05: 95 %).
    trend : {"n", "c", "t", "ct"}, default "c"
        Deterministic terms.
    joint : bool, default True
        Bonferroni over the ``steps`` horizons of the path (as ``SparseRNN`` by default);
        the one-step forecasts are always pointwise.

    Returns
    -------
    AutoRegForecasts
        Intervals as statsmodels gives them: normal quantiles; the one-step se is the
        fitted ``sigma``, the h-step se adds the innovations propagated through the
        recursion; parameter uncertainty is not included.

    Raises
    ------
    ValueError
        Bad ``lags``, ``steps``, ``alpha``, ``trend``; missing values; a series too short
        for the lags.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.baselines import autoreg_forecasts
    >>> from bsdl.datasets import make_ar
    >>> y = make_ar(300, {1: 0.6, 3: -0.3}, random_state=0)
    >>> fc = autoreg_forecasts(y[:250], [1, 3], series=y, steps=5)
    >>> fc.one_step.mean.shape, fc.path.mean.shape
    ((297,), (5,))
    >>> bool(np.all(fc.path.lower < fc.path.upper))
    True
    """
    from statsmodels.tsa.ar_model import AutoReg

    lag_list = _check_lags(lags)
    trend = check_in_options(trend, "trend", _TRENDS)
    steps = check_positive_int(steps, "steps", minimum=0)
    alpha = check_alpha(alpha)
    if not isinstance(joint, bool | np.bool_):
        raise TypeError(f"joint must be True or False, got {joint!r}")
    y, ti, _ = check_series(train, "train")
    p = max(lag_list, default=0)
    k = len(lag_list) + len(trend.replace("n", ""))
    if y.size - p <= k:
        raise ValueError(
            f"train has {y.size} observations: too few for lags {lag_list} ({k} coefficients "
            f"on {y.size - p} observations)"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = AutoReg(y, lag_list or 0, trend=trend).fit()
    sigma = float(np.sqrt(res.sigma2))

    one_step = None
    if series is not None:
        full, full_ti, _ = check_series(series, "series")
        if full.size <= p:
            raise ValueError(f"series has {full.size} observations; more than {p} needed")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            applied = res.apply(full, refit=False)
            mean = np.asarray(applied.predict(start=p, end=full.size - 1, dynamic=False))
        index = full_ti.labels(p, full.size) if full_ti is not None else pd.RangeIndex(p, full.size)
        one_step = PredictionIntervals(mean, np.full(mean.size, sigma), alpha=alpha, index=index)

    path = None
    if steps:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pred = res.get_prediction(start=y.size, end=y.size + steps - 1)
        index = ti.labels(y.size, y.size + steps) if ti is not None else None
        if index is None:
            index = pd.RangeIndex(y.size, y.size + steps)
        path = PredictionIntervals(
            np.asarray(pred.predicted_mean),
            np.sqrt(np.asarray(pred.var_pred_mean)),
            alpha=alpha,
            index=index,
            joint=bool(joint),
        )
    params = pd.Series(np.asarray(res.params, dtype=float), index=list(res.model.exog_names))
    return AutoRegForecasts(
        lags=np.asarray(lag_list, dtype=int),
        trend=trend,
        params=params,
        sigma=sigma,
        nobs=int(res.nobs),
        aic=float(res.aic),
        bic=float(res.bic),
        one_step=one_step,
        path=path,
    )
