"""Data checks of the scikit-learn style estimators (layer L4).

:func:`validate_estimator_data` runs bsdl's own checks (:mod:`bsdl._validation`, whose
messages name the argument and the first bad entry) and then lets scikit-learn keep
``n_features_in_`` and ``feature_names_in_``, following scikit-learn's conventions for an
estimator's data where it has them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import validate_data as _sklearn_validate_data

from bsdl._validation import check_array, check_X_y

__all__ = ["validate_estimator_data"]

_NO_Y = object()


def _shape_of(value) -> tuple:
    shape = getattr(value, "shape", None)
    if shape is None:
        try:
            shape = np.asarray(value).shape
        except (TypeError, ValueError, RuntimeError):  # ragged: check_X_y explains it
            return ()
    return tuple(shape)


def _is_complex(value) -> bool:
    if isinstance(value, pd.DataFrame):
        return any(pd.api.types.is_complex_dtype(d) for d in value.dtypes)
    dtype = getattr(value, "dtype", None)
    if dtype is None and isinstance(value, list | tuple):
        try:
            dtype = np.asarray(value).dtype
        except (TypeError, ValueError, RuntimeError):  # ragged: check_array explains it
            return False
    try:
        return dtype is not None and np.dtype(dtype).kind == "c"
    except TypeError:  # a pandas extension dtype
        return False


def validate_estimator_data(
    estimator,
    X,
    y=_NO_Y,
    *,
    reset: bool,
    y_numeric: bool = True,
    min_samples: int = 1,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check the data of a scikit-learn style estimator's ``fit`` or ``predict``.

    bsdl's own checks (:func:`check_array`, :func:`check_X_y`: messages that name the
    argument and the first bad entry) run first; scikit-learn's
    :func:`~sklearn.utils.validation.validate_data` then keeps the estimator's
    ``n_features_in_`` and ``feature_names_in_`` (set them at fit, ``reset=True``;
    compare against them at predict, ``reset=False``). Where scikit-learn has a convention
    for an estimator's data (complex values, ``y=None``, a column-vector ``y``), it is
    followed.

    Parameters
    ----------
    estimator : BaseEstimator
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,), optional
        Leave out at predict time. ``None`` is an error (the target is required).
    reset : bool
        True in ``fit``: record the number (and names) of the features.
    y_numeric : bool, default True
        False for class labels (see :func:`check_X_y`).
    min_samples : int, default 1
        Minimum number of rows of ``X``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        A new float64 array.
    y : ndarray of shape (n_samples,) or None
        None when ``y`` was left out.

    Raises
    ------
    ValueError
        Complex values ("Complex data not supported", scikit-learn's wording),
        ``y=None``, a number of features or feature names other than at fit, and every
        ``ValueError`` of :func:`check_X_y`.
    TypeError
        As :func:`check_X_y` (non-numeric data, sparse matrices).

    Warns
    -----
    sklearn.exceptions.DataConversionWarning
        ``y`` of shape ``(n_samples, 1)``: it is raveled.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator
    >>> from bsdl.models._estimator_data import validate_estimator_data
    >>> est = BaseEstimator()
    >>> X, y = validate_estimator_data(est, np.ones((3, 2)), [1.0, 2.0, 3.0], reset=True)
    >>> est.n_features_in_
    2
    >>> validate_estimator_data(est, np.ones((3, 4)), reset=False)
    Traceback (most recent call last):
    ...
    ValueError: X has 4 features, but BaseEstimator is expecting 2 features as input.
    """
    for value, name in ((X, "X"), (y, "y")):
        if _is_complex(value):
            raise ValueError(
                f"{name} has complex values; Complex data not supported, real numbers expected"
            )
    if y is _NO_Y:
        Xa, _ = check_array(X, "X", min_samples=min_samples)
        ya = None
    else:
        if y is None:
            raise ValueError(
                f"{type(estimator).__name__} requires y to be passed, but the target y is None"
            )
        shape = _shape_of(y)
        if len(shape) == 2 and shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected: y of shape "
                f"{shape} is raveled to ({shape[0]},).",
                DataConversionWarning,
                stacklevel=3,
            )
        Xa, ya, _ = check_X_y(X, y, y_numeric=y_numeric, min_samples=min_samples)
    # bsdl has checked X: scikit-learn only records / compares the features
    _sklearn_validate_data(estimator, X, reset=reset, skip_check_array=True)
    return Xa, ya
