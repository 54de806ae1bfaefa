"""Simulated and bundled real data sets (layer L1: numpy, pandas, scipy, scikit-learn).

Simulators reproduce the designs of Sun, Song & Liang (JASA 2022):

- :func:`make_sparse_regression`
- :func:`make_sparse_classification`
- :func:`make_structure_regression`

Time-series simulators with a known set of relevant lags
(:mod:`bsdl.datasets.timeseries`):

- :func:`make_ar` (sparse stationary linear AR, optional exogenous inputs)
- :func:`make_nonlinear_ar` (nonlinear AR driven by :data:`NONLINEAR_AR_LAGS`)
- :func:`make_even_ar` (nonlinear AR whose lag 3 enters only through an even
  function, :data:`EVEN_AR_LAGS`)

Real data sets ship with their source package; nothing is downloaded at run
time (see ``data/README.md``):

- :func:`load_diabetes` (scikit-learn)
- :func:`load_sunspots`, :func:`load_co2`, :func:`load_elnino`,
  :func:`load_nile`, :func:`load_macro`: real time series shipped with
  statsmodels (:mod:`bsdl.datasets.real_series`; statsmodels is imported
  only when one of them is called)
- :func:`load_seattle_temperature` (daily), :func:`load_gb_demand`
  (half-hourly), and from R's ``datasets`` package the monthly
  :func:`load_nottem` (n = 240) and the short classics :func:`load_wwwusage`
  (n = 100) and :func:`load_bjsales` (n = 150): real time series bundled as CSV
  files in the repository's ``data/`` folder
  (:mod:`bsdl.datasets.bundled_series`)
- :func:`load_sp500_returns`, :func:`load_nasdaq_returns`, :func:`load_wti_returns`:
  daily log-returns read from the example data of the optional package ``arch``
  (:mod:`bsdl.datasets.returns`)
- :func:`load_series` and :func:`list_series`: all ten real series by name
  (:data:`REAL_SERIES`: yearly, quarterly, monthly, weekly, daily, half-hourly,
  minutely, and one without a stated unit), and the three return series
  (:data:`RETURN_SERIES`)
"""

from __future__ import annotations

import pandas as pd
from sklearn import datasets as _skdatasets
from sklearn.utils import Bunch

from .bundled_series import (
    load_bjsales,
    load_gb_demand,
    load_nottem,
    load_seattle_temperature,
    load_wwwusage,
)
from .catalog import REAL_SERIES, RETURN_SERIES, list_series, load_series
from .real_series import load_co2, load_elnino, load_macro, load_nile, load_sunspots
from .returns import load_nasdaq_returns, load_sp500_returns, load_wti_returns
from .simulate import (
    make_sparse_classification,
    make_sparse_regression,
    make_structure_regression,
)
from .timeseries import EVEN_AR_LAGS, NONLINEAR_AR_LAGS, make_ar, make_even_ar, make_nonlinear_ar

__all__ = [
    "REAL_SERIES",
    "RETURN_SERIES",
    "load_series",
    "list_series",
    "make_sparse_regression",
    "make_sparse_classification",
    "make_structure_regression",
    "make_ar",
    "make_nonlinear_ar",
    "NONLINEAR_AR_LAGS",
    "make_even_ar",
    "EVEN_AR_LAGS",
    "load_diabetes",
    "load_sunspots",
    "load_co2",
    "load_elnino",
    "load_nile",
    "load_macro",
    "load_seattle_temperature",
    "load_gb_demand",
    "load_wwwusage",
    "load_bjsales",
    "load_nottem",
    "load_sp500_returns",
    "load_nasdaq_returns",
    "load_wti_returns",
]


def load_diabetes(
    *, scaled: bool = True, return_X_y: bool = False
) -> Bunch | tuple[pd.DataFrame, pd.Series]:
    """Load the diabetes data of Efron et al. (2004) as pandas objects.

    A thin wrapper around :func:`sklearn.datasets.load_diabetes`; the data
    ship with scikit-learn, so this works offline. 442 patients, ten baseline
    covariates (age, sex, body-mass index, mean arterial blood pressure and
    six blood serum measurements) and a quantitative measure of disease
    progression one year later.

    Parameters
    ----------
    scaled : bool, default=True
        If True (scikit-learn's default), every covariate is mean-centred and
        scaled to unit Euclidean norm, as in the LARS paper. If False, the
        original measurements are returned.
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of a Bunch.

    Returns
    -------
    data : :class:`sklearn.utils.Bunch`
        With attributes ``X`` (DataFrame, 442 x 10), ``y`` (Series named
        ``"target"``), ``frame`` (both together), ``feature_names``,
        ``target_name``, ``description`` (the text description, also as
        ``DESCR``) and ``source``.
    (X, y) : tuple of DataFrame and Series
        Only when ``return_X_y=True``.

    References
    ----------
    B. Efron, T. Hastie, I. Johnstone and R. Tibshirani (2004). Least angle
    regression. *Annals of Statistics*, 32(2), 407-499.

    Examples
    --------
    >>> from bsdl.datasets import load_diabetes
    >>> data = load_diabetes()
    >>> data.X.shape, data.y.shape
    ((442, 10), (442,))
    >>> list(data.X.columns[:4])
    ['age', 'sex', 'bmi', 'bp']
    >>> X, y = load_diabetes(return_X_y=True)
    >>> y.name
    'target'
    """
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {scaled!r}.")
    if not isinstance(return_X_y, bool):
        raise TypeError(f"return_X_y must be True or False, got {return_X_y!r}.")
    sk = _skdatasets.load_diabetes(as_frame=True, scaled=scaled)
    X = sk.data.astype("float64")
    y = sk.target.astype("float64").rename("target")
    if return_X_y:
        return X, y
    return Bunch(
        X=X,
        y=y,
        frame=pd.concat([X, y], axis=1),
        feature_names=list(X.columns),
        target_name="target",
        description=sk.DESCR,
        DESCR=sk.DESCR,
        source="scikit-learn (sklearn.datasets.load_diabetes); Efron et al. (2004)",
    )
