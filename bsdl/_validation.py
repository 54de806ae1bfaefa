"""Input checks shared by every estimator (layer L0).

Each check raises :class:`TypeError` or :class:`ValueError` with a message
that names the offending argument. Array checks always return a *new* array,
so nothing bsdl does afterwards can mutate the caller's data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp

from bsdl.exceptions import NotFittedError

__all__ = [
    "check_array",
    "check_X_y",
    "check_alpha",
    "check_positive_int",
    "check_positive_float",
    "check_in_options",
    "check_random_state",
    "check_is_fitted",
]

_MAX_SEED = 2**32


def _shape_hint(ndim: int | None, name: str) -> str:
    if ndim == 1:
        return f"{name} must be 1-D of shape (n_samples,)"
    if ndim == 2:
        return f"{name} must be 2-D of shape (n_samples, n_features)"
    return f"{name} must be 1-D or 2-D"


def _describe_position(pos: tuple[int, ...], columns: Sequence | None) -> str:
    if len(pos) == 1:
        return f"index {pos[0]}"
    row, col = pos[0], pos[1]
    if columns is not None and col < len(columns):
        return f"row {row}, column {columns[col]!r}"
    return f"row {row}, column {col}"


def _frame_to_numpy(X: pd.DataFrame, name: str, dtype) -> np.ndarray:
    for col in X.columns:
        s = X[col]
        if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            raise TypeError(
                f"{name} column {col!r} has non-numeric dtype {s.dtype}; "
                "encode it numerically (e.g. one-hot) before fitting"
            )
        if pd.api.types.is_complex_dtype(s.dtype):
            raise TypeError(f"{name} column {col!r} has complex dtype {s.dtype}")
    target = np.float64 if dtype is None else dtype
    return X.to_numpy(dtype=target, na_value=np.nan, copy=True)


def _series_to_numpy(X: pd.Series, name: str, dtype) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(X.dtype) or pd.api.types.is_bool_dtype(X.dtype)):
        raise TypeError(f"{name} has non-numeric dtype {X.dtype} (Series {X.name!r})")
    if pd.api.types.is_complex_dtype(X.dtype):
        raise TypeError(f"{name} has complex dtype {X.dtype}")
    target = np.float64 if dtype is None else dtype
    return X.to_numpy(dtype=target, na_value=np.nan, copy=True)


def _generic_to_numpy(X, name: str, dtype) -> np.ndarray:
    if isinstance(X, str | bytes):
        raise TypeError(f"{name} must be array-like of numbers, got a {type(X).__name__}")
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError, RuntimeError) as exc:  # ragged lists, grad tensors
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind in "OUSV":
        if arr.dtype.kind in "US":
            raise TypeError(f"{name} contains strings (dtype {arr.dtype}); numeric data expected")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:  # numpy's reason names the offending value
            raise TypeError(
                f"{name} contains non-numeric values (dtype {arr.dtype}); numeric data "
                f"expected ({exc})"
            ) from None
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype {arr.dtype}; real numbers expected")
    if arr.dtype.kind in "mM":
        raise TypeError(f"{name} has datetime dtype {arr.dtype}; numeric data expected")
    target = dtype if dtype is not None else (arr.dtype if arr.dtype.kind in "biuf" else None)
    return np.array(arr, dtype=target, copy=True, order="C")


def check_array(
    X,
    name: str = "X",
    *,
    ndim: int | None = 2,
    allow_1d_as_column: bool = False,
    dtype=np.float64,
    min_samples: int = 1,
) -> tuple[np.ndarray, list[str] | None]:
    """Validate an array-like and return a fresh numeric ndarray.

    Parameters
    ----------
    X : array-like
        NumPy array, nested list, pandas DataFrame or Series (or anything
        :func:`numpy.asarray` accepts).
    name : str, default "X"
        Argument name used in error messages.
    ndim : {1, 2} or None, default 2
        Required number of dimensions; None accepts 1-D or 2-D.
    allow_1d_as_column : bool, default False
        With ``ndim=2``, turn a 1-D input of shape ``(n,)`` into ``(n, 1)``.
    dtype : numpy dtype or None, default float64
        Output dtype; None keeps a numeric input dtype.
    min_samples : int, default 1
        Minimum number of rows.

    Returns
    -------
    array : ndarray
        A new C-contiguous array (never a view of ``X``).
    feature_names : list of str or None
        Column names of a DataFrame whose column names are all strings,
        otherwise None.

    Raises
    ------
    TypeError
        Non-numeric data (for a DataFrame the message names the column) or a scipy
        sparse matrix.
    ValueError
        NaN or infinite values (with their count and the first position),
        wrong number of dimensions, or too few samples.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bsdl._validation import check_array
    >>> arr, names = check_array(pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0]}))
    >>> arr, names
    (array([[1., 3.],
           [2., 4.]]), ['a', 'b'])
    >>> check_array([1.0, 2.0], allow_1d_as_column=True)[0].shape
    (2, 1)
    >>> check_array(np.array([[1.0, np.nan]]))
    Traceback (most recent call last):
    ...
    ValueError: X contains 1 non-finite value (NaN or inf); the first is nan at row 0, column 1
    """
    if ndim not in (1, 2, None):
        raise ValueError(f"ndim must be 1, 2 or None, got {ndim!r}")
    if X is None:
        raise TypeError(f"{name} must be array-like, got None")
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a scipy sparse {type(X).__name__}; sparse input is not supported: "
            f"pass a dense array ({name}.toarray())"
        )

    feature_names: list[str] | None = None
    columns: list | None = None
    if isinstance(X, pd.DataFrame):
        arr = _frame_to_numpy(X, name, dtype)
        columns = list(X.columns)
        if columns and all(isinstance(c, str) for c in columns):
            feature_names = [str(c) for c in columns]
    elif isinstance(X, pd.Series):
        arr = _series_to_numpy(X, name, dtype)
    else:
        arr = _generic_to_numpy(X, name, dtype)

    if arr.ndim == 0:
        raise ValueError(
            f"{_shape_hint(ndim, name)}, got a scalar {arr.item()!r}; wrap it in a list"
        )
    if ndim == 2 and arr.ndim == 1:
        if allow_1d_as_column:
            arr = arr.reshape(-1, 1)
        else:
            raise ValueError(
                f"{_shape_hint(2, name)}, got a 1-D array of shape {arr.shape}. Reshape "
                f"your data: {name}.reshape(-1, 1) for a single feature or "
                f"{name}.reshape(1, -1) for a single sample"
            )
    if ndim == 1 and arr.ndim == 2 and arr.shape[1] == 1 and allow_1d_as_column:
        arr = arr.ravel()
    if (ndim is not None and arr.ndim != ndim) or arr.ndim > 2:
        raise ValueError(f"{_shape_hint(ndim, name)}, got an array of shape {arr.shape}")

    n = arr.shape[0]
    if n < min_samples:
        raise ValueError(
            f"{name} has {n} sample(s) (shape {arr.shape}), but at least {min_samples} "
            f"{'is' if min_samples == 1 else 'are'} required"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 features: found array with 0 feature(s) (shape={arr.shape}) while "
            "a minimum of 1 is required."
        )

    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            count = int(bad.sum())
            pos = tuple(int(i) for i in np.argwhere(bad)[0])
            value = arr[pos].item()
            raise ValueError(
                f"{name} contains {count} non-finite value{'s' if count > 1 else ''} "
                f"(NaN or inf); the first is {value!r} at {_describe_position(pos, columns)}"
            )
    if not arr.flags.writeable:  # defensive: the copy above is always writeable
        arr = arr.copy()
    return arr, feature_names


def check_X_y(
    X,
    y,
    *,
    y_numeric: bool = True,
    allow_1d_as_column: bool = False,
    dtype=np.float64,
    min_samples: int = 1,
    X_name: str = "X",
    y_name: str = "y",
) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Validate a design matrix and a 1-D target of the same length.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        See :func:`check_array`.
    y : array-like of shape (n_samples,) or (n_samples, 1)
        Target; a column vector is raveled.
    y_numeric : bool, default True
        If True, ``y`` must be numeric and finite and is returned as float64.
        If False (class labels), ``y`` keeps its dtype and only missing
        values are rejected.
    allow_1d_as_column, dtype, min_samples
        Passed to :func:`check_array` for ``X``.
    X_name, y_name : str
        Argument names used in error messages.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    feature_names : list of str or None

    Examples
    --------
    >>> from bsdl._validation import check_X_y
    >>> X, y, names = check_X_y([[1.0], [2.0], [3.0]], [[1.0], [2.0], [3.0]])
    >>> X.shape, y.shape, names
    ((3, 1), (3,), None)
    >>> check_X_y([[1.0], [2.0]], [1.0, 2.0, 3.0])
    Traceback (most recent call last):
    ...
    ValueError: X and y have inconsistent numbers of samples: X has 2 rows, y has 3
    """
    X_arr, names = check_array(
        X,
        X_name,
        ndim=2,
        allow_1d_as_column=allow_1d_as_column,
        dtype=dtype,
        min_samples=min_samples,
    )
    if y_numeric:
        y_arr, _ = check_array(
            y, y_name, ndim=1, allow_1d_as_column=True, dtype=np.float64, min_samples=0
        )
    else:
        y_arr = _check_labels(y, y_name)
    if y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"{X_name} and {y_name} have inconsistent numbers of samples: "
            f"{X_name} has {X_arr.shape[0]} rows, {y_name} has {y_arr.shape[0]}"
        )
    return X_arr, y_arr, names


def _check_labels(y, name: str) -> np.ndarray:
    if y is None:
        raise TypeError(f"{name} must be array-like, got None")
    if isinstance(y, str | bytes):
        raise TypeError(f"{name} must be array-like, got a {type(y).__name__}")
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(f"{name} must be 1-D of shape (n_samples,), got shape {y.shape}")
        y = y.iloc[:, 0]
    arr = np.array(y.to_numpy() if isinstance(y, pd.Series) else y, copy=True)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D of shape (n_samples,), got shape {arr.shape}")
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(
            f"{name} contains {int(missing.sum())} missing label(s); the first at index "
            f"{int(np.flatnonzero(missing)[0])}"
        )
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains infinite values")
    return arr


def check_alpha(alpha, name: str = "alpha") -> float:
    """Check a significance level: a real number in the open interval (0, 1).

    Examples
    --------
    >>> from bsdl._validation import check_alpha
    >>> check_alpha(0.05)
    0.05
    >>> check_alpha(95)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be in (0, 1) (the significance level: 0.05 gives 95% intervals), got 95.0
    """
    if isinstance(alpha, bool) or not isinstance(alpha, Real):
        raise TypeError(f"{name} must be a float in (0, 1), got {type(alpha).__name__}")
    value = float(alpha)
    if not 0.0 < value < 1.0:  # also rejects NaN
        raise ValueError(
            f"{name} must be in (0, 1) (the significance level: 0.05 gives 95% intervals), "
            f"got {value!r}"
        )
    return value


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """Check an integer ``>= minimum`` (bools and floats are rejected).

    Examples
    --------
    >>> from bsdl._validation import check_positive_int
    >>> check_positive_int(3, "lags")
    3
    >>> check_positive_int(0, "lags")
    Traceback (most recent call last):
    ...
    ValueError: lags must be an integer >= 1, got 0
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_positive_float(value, name: str, strict: bool = True) -> float:
    """Check a finite real number that is ``> 0`` (``strict``) or ``>= 0``.

    Examples
    --------
    >>> from bsdl._validation import check_positive_float
    >>> check_positive_float(1e-3, "lr")
    0.001
    >>> check_positive_float(0, "weight_decay", strict=False)
    0.0
    >>> check_positive_float(-1, "lr")
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number > 0, got -1.0
    """
    bound = "> 0" if strict else ">= 0"
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a finite number {bound}, got {value!r}")
    out = float(value)
    if not math.isfinite(out) or out < 0 or (strict and out == 0):
        raise ValueError(f"{name} must be a finite number {bound}, got {out!r}")
    return out


def check_in_options(value, name: str, options: Iterable):
    """Check that ``value`` is one of ``options`` (a string enum).

    Examples
    --------
    >>> from bsdl._validation import check_in_options
    >>> check_in_options("bic", "criterion", ("bic", "evidence"))
    'bic'
    >>> check_in_options("aic", "criterion", ("bic", "evidence"))
    Traceback (most recent call last):
    ...
    ValueError: criterion must be one of 'bic', 'evidence'; got 'aic'
    """
    options = tuple(options)
    listed = ", ".join(repr(o) for o in options)
    if not isinstance(value, str) and not any(value is o for o in options):
        raise TypeError(f"{name} must be one of {listed}; got {value!r} ({type(value).__name__})")
    if value in options:
        return value
    hint = ""
    if isinstance(value, str):
        close = [o for o in options if isinstance(o, str) and o.lower() == value.lower()]
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    raise ValueError(f"{name} must be one of {listed}; got {value!r}{hint}")


def check_random_state(seed) -> int:
    """Turn ``random_state`` into an integer seed for a local ``torch.Generator``.

    Parameters
    ----------
    seed : None, int, numpy.random.Generator or numpy.random.RandomState
        None draws a seed from a fresh :func:`numpy.random.default_rng`;
        an int in ``[0, 2**64)`` is returned unchanged; a NumPy generator is
        advanced by one draw. No global random state is touched.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl._validation import check_random_state
    >>> check_random_state(7)
    7
    >>> a = check_random_state(np.random.default_rng(0))
    >>> a == check_random_state(np.random.default_rng(0))
    True
    """
    if seed is None:
        return int(np.random.default_rng().integers(0, _MAX_SEED))
    if isinstance(seed, bool | np.bool_):
        raise TypeError("random_state must be None, an int or a numpy Generator, got a bool")
    if isinstance(seed, Integral):
        value = int(seed)
        if not 0 <= value < 2**64:
            raise ValueError(f"random_state must be in [0, 2**64), got {value}")
        return value
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, _MAX_SEED))
    if isinstance(seed, np.random.RandomState):
        return int(seed.randint(0, _MAX_SEED, dtype=np.int64))
    raise TypeError(
        "random_state must be None, an int, a numpy.random.Generator or "
        f"numpy.random.RandomState, got {type(seed).__name__}"
    )


def check_is_fitted(estimator, attributes=None, method: str = "predict") -> None:
    """Raise :class:`~bsdl.exceptions.NotFittedError` if ``estimator`` is not fitted.

    Parameters
    ----------
    estimator : object
        An estimator instance.
    attributes : str or sequence of str, optional
        Fitted attributes that must all exist. If None, any instance attribute
        ending with ``"_"`` (scikit-learn convention) counts as fitted.
    method : str, default "predict"
        Name of the method being called, used in the message.

    Examples
    --------
    >>> from bsdl._validation import check_is_fitted
    >>> class SparseMLPRegressor:
    ...     pass
    >>> check_is_fitted(SparseMLPRegressor(), "coefs_", method="predict_interval")
    Traceback (most recent call last):
    ...
    sklearn.exceptions.NotFittedError: This SparseMLPRegressor instance is not fitted yet. \
Call 'fit' with appropriate arguments before using 'predict_interval'.
    """
    if isinstance(estimator, type):
        raise TypeError(f"{estimator.__name__} is a class, not an instance")
    if isinstance(attributes, str):
        attributes = [attributes]
    if attributes is None:
        fitted = any(
            k.endswith("_") and not k.startswith("__") for k in getattr(estimator, "__dict__", {})
        )
    else:
        fitted = all(hasattr(estimator, a) for a in attributes)
    if not fitted:
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            f"appropriate arguments before using '{method}'."
        )
