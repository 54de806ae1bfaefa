import numpy as np
import pandas as pd
import pytest

from bsdl._validation import (
    check_alpha,
    check_array,
    check_in_options,
    check_is_fitted,
    check_positive_float,
    check_positive_int,
    check_random_state,
    check_X_y,
)
from bsdl.exceptions import NotFittedError

# ----------------------------------------------------------------------- check_array


def test_check_array_numpy_returns_copy():
    X = np.arange(6, dtype=np.float64).reshape(3, 2)
    out, names = check_array(X)
    assert names is None
    assert out.dtype == np.float64 and out.shape == (3, 2)
    assert not np.shares_memory(out, X)
    out[0, 0] = 1000.0
    assert X[0, 0] == 0.0


def test_check_array_int_and_list_converted():
    out, _ = check_array([[1, 2], [3, 4]])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, 2.0], [3.0, 4.0]])
    out, _ = check_array(np.array([[1, 2]], dtype=np.int32), dtype=None)
    assert out.dtype == np.int32


def test_check_array_dataframe_names_and_copy():
    df = pd.DataFrame({"age": [30.0, 40.0, 50.0], "income": [1, 2, 3], "flag": [True, False, True]})
    out, names = check_array(df)
    assert names == ["age", "income", "flag"]
    np.testing.assert_array_equal(out[:, 2], [1.0, 0.0, 1.0])
    out[0, 0] = -1.0
    assert df.loc[0, "age"] == 30.0
    # single-dtype frame, where to_numpy could return a view
    df2 = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    out2, _ = check_array(df2)
    out2[:] = 0.0
    assert df2.to_numpy().sum() == 10.0


def test_check_array_dataframe_non_str_names():
    df = pd.DataFrame(np.ones((2, 2)))
    _, names = check_array(df)
    assert names is None


def test_check_array_dataframe_non_numeric_column_named():
    df = pd.DataFrame({"a": [1.0, 2.0], "city": ["x", "y"]})
    with pytest.raises(TypeError, match="X column 'city'"):
        check_array(df)
    df = pd.DataFrame({"a": [1.0, 2.0], "cat": pd.Categorical(["x", "y"])})
    with pytest.raises(TypeError, match="'cat'"):
        check_array(df, name="X_new")


def test_check_array_series_and_1d():
    s = pd.Series([1.0, 2.0, 3.0], name="y")
    out, names = check_array(s, "series", ndim=1)
    assert out.shape == (3,) and names is None
    out[0] = 7.0
    assert s.iloc[0] == 1.0
    out, _ = check_array(s, allow_1d_as_column=True)
    assert out.shape == (3, 1)
    with pytest.raises(TypeError, match="series"):
        check_array(pd.Series(["a", "b"]), "series", ndim=1)


def test_check_array_wrong_ndim_messages():
    with pytest.raises(ValueError, match=r"X must be 2-D of shape \(n_samples, n_features\)"):
        check_array([1.0, 2.0])
    with pytest.raises(ValueError, match=r"series must be 1-D"):
        check_array(np.ones((3, 2)), "series", ndim=1)
    with pytest.raises(ValueError, match="X must be 2-D"):
        check_array(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="scalar"):
        check_array(3.0)


def test_check_array_column_vector_to_1d_when_allowed():
    out, _ = check_array(np.ones((4, 1)), "y", ndim=1, allow_1d_as_column=True)
    assert out.shape == (4,)


def test_check_array_nan_inf_count_and_position():
    X = np.ones((4, 3))
    X[2, 1] = np.nan
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"X contains 2 non-finite values .* row 2, column 1"):
        check_array(X)
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, 1.0]})
    with pytest.raises(ValueError, match=r"X_new contains 1 non-finite value .*column 'b'"):
        check_array(df, "X_new")
    nullable = pd.DataFrame({"a": pd.array([1, None], dtype="Int64")})
    with pytest.raises(ValueError, match="non-finite"):
        check_array(nullable)


def test_check_array_empty_and_min_samples():
    with pytest.raises(ValueError, match="X has 0 sample"):
        check_array(np.empty((0, 3)))
    with pytest.raises(ValueError, match="0 features"):
        check_array(np.empty((3, 0)))
    with pytest.raises(ValueError, match="at least 5"):
        check_array(np.ones((3, 2)), min_samples=5)


def test_check_array_rejects_strings_and_none():
    with pytest.raises(TypeError, match="X"):
        check_array([["a", "b"]])
    with pytest.raises(TypeError, match="X"):
        check_array(np.array([[1, "b"]], dtype=object))
    with pytest.raises(TypeError, match="X"):
        check_array(None)
    with pytest.raises(TypeError, match="X"):
        check_array("abc")
    with pytest.raises(TypeError, match="complex"):
        check_array(np.ones((2, 2), dtype=complex))


def test_check_array_object_numbers_ok():
    out, _ = check_array(np.array([[1, 2.5]], dtype=object))
    assert out.dtype == np.float64


def test_check_array_read_only_input():
    X = np.ones((2, 2))
    X.setflags(write=False)
    out, _ = check_array(X)
    assert out.flags.writeable
    out[0, 0] = 5.0


# ----------------------------------------------------------------------- check_X_y


def test_check_X_y_basic_and_copies():
    X = np.ones((5, 2))
    y = np.arange(5.0)
    Xo, yo, names = check_X_y(X, y)
    assert Xo.shape == (5, 2) and yo.shape == (5,) and names is None
    yo[0] = 99.0
    Xo[0, 0] = 99.0
    assert y[0] == 0.0 and X[0, 0] == 1.0


def test_check_X_y_column_vector_raveled():
    _, yo, _ = check_X_y(np.ones((3, 1)), np.ones((3, 1)))
    assert yo.shape == (3,)
    _, yo, _ = check_X_y(np.ones((3, 1)), pd.DataFrame({"t": [1.0, 2.0, 3.0]}))
    assert yo.shape == (3,)


def test_check_X_y_inconsistent_lengths():
    with pytest.raises(ValueError, match=r"X and y .* X has 4 rows, y has 3"):
        check_X_y(np.ones((4, 2)), np.ones(3))


def test_check_X_y_y_2d_rejected():
    with pytest.raises(ValueError, match="y must be 1-D"):
        check_X_y(np.ones((4, 2)), np.ones((4, 2)))


def test_check_X_y_y_nan_named():
    with pytest.raises(ValueError, match="y contains 1 non-finite"):
        check_X_y(np.ones((2, 1)), [1.0, np.nan])


def test_check_X_y_dataframe_names():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    _, _, names = check_X_y(df, pd.Series([0.0, 1.0]))
    assert names == ["a", "b"]


def test_check_X_y_labels():
    X = np.ones((3, 1))
    _, y, _ = check_X_y(X, ["a", "b", "a"], y_numeric=False)
    assert list(y) == ["a", "b", "a"]
    with pytest.raises(ValueError, match="y contains 1 missing"):
        check_X_y(X, ["a", None, "a"], y_numeric=False)
    with pytest.raises(TypeError, match="y"):
        check_X_y(X, ["a", "b", "a"])
    labels = np.array([0, 1, 1])
    _, y, _ = check_X_y(X, labels, y_numeric=False)
    y[0] = 5
    assert labels[0] == 0


# ----------------------------------------------------------------------- scalars


def test_check_alpha():
    assert check_alpha(0.05) == 0.05
    assert check_alpha(np.float32(0.5)) == 0.5
    for bad in (0, 1, 1.2, -0.1, float("nan")):
        with pytest.raises(ValueError, match="level"):
            check_alpha(bad, "level")
    for bad in ("0.05", None, True):
        with pytest.raises(TypeError, match="alpha"):
            check_alpha(bad)


def test_check_positive_int():
    assert check_positive_int(3, "lags") == 3
    assert check_positive_int(np.int64(2), "lags") == 2
    assert check_positive_int(0, "n_restarts", minimum=0) == 0
    with pytest.raises(ValueError, match="lags must be an integer >= 1"):
        check_positive_int(0, "lags")
    with pytest.raises(TypeError, match="lags"):
        check_positive_int(2.0, "lags")
    with pytest.raises(TypeError, match="lags"):
        check_positive_int(True, "lags")


def test_check_positive_float():
    assert check_positive_float(1, "lr") == 1.0
    assert check_positive_float(0.0, "wd", strict=False) == 0.0
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        check_positive_float(0.0, "lr")
    with pytest.raises(ValueError, match="wd must be a finite number >= 0"):
        check_positive_float(-1e-3, "wd", strict=False)
    with pytest.raises(ValueError, match="lr"):
        check_positive_float(float("inf"), "lr")
    with pytest.raises(TypeError, match="lr"):
        check_positive_float("1", "lr")


def test_check_in_options():
    assert check_in_options("bic", "criterion", ["bic", "evidence"]) == "bic"
    with pytest.raises(ValueError, match=r"criterion must be one of 'bic', 'evidence'; got 'aic'"):
        check_in_options("aic", "criterion", ["bic", "evidence"])
    with pytest.raises(ValueError, match="did you mean 'bic'"):
        check_in_options("BIC", "criterion", ["bic", "evidence"])
    with pytest.raises(TypeError, match="criterion"):
        check_in_options(3, "criterion", ["bic", "evidence"])
    assert check_in_options(None, "method", [None, "auto"]) is None


def test_check_random_state():
    assert check_random_state(0) == 0
    assert check_random_state(np.int64(5)) == 5
    s = check_random_state(None)
    assert isinstance(s, int) and 0 <= s < 2**32
    a = check_random_state(np.random.default_rng(1))
    b = check_random_state(np.random.default_rng(1))
    assert a == b and isinstance(a, int)
    rs = check_random_state(np.random.RandomState(1))
    assert rs == check_random_state(np.random.RandomState(1))
    g = np.random.default_rng(2)
    assert check_random_state(g) != check_random_state(g)  # the generator advances
    with pytest.raises(ValueError, match="random_state"):
        check_random_state(-1)
    with pytest.raises(TypeError, match="random_state"):
        check_random_state(1.5)
    with pytest.raises(TypeError, match="random_state"):
        check_random_state(True)


def test_check_random_state_leaves_global_state_alone():
    # the legacy global RandomState must not be touched (the check is about it)
    before = np.random.get_state()  # noqa: NPY002
    check_random_state(None)
    check_random_state(3)
    after = np.random.get_state()  # noqa: NPY002
    assert before[2] == after[2]
    np.testing.assert_array_equal(before[1], after[1])


# ----------------------------------------------------------------------- fitted


class SparseMLPRegressor:
    def __init__(self, alpha=0.05):
        self.alpha = alpha


def test_check_is_fitted_message():
    est = SparseMLPRegressor()
    msg = (
        "This SparseMLPRegressor instance is not fitted yet. Call 'fit' with appropriate "
        "arguments before using 'predict_interval'."
    )
    with pytest.raises(NotFittedError) as info:
        check_is_fitted(est, "coefs_", method="predict_interval")
    assert str(info.value) == msg
    with pytest.raises(NotFittedError, match="'predict'"):
        check_is_fitted(est)
    est.coefs_ = [1]
    check_is_fitted(est, "coefs_", method="predict_interval")
    check_is_fitted(est)
    with pytest.raises(NotFittedError):
        check_is_fitted(est, ["coefs_", "mask_"])
    est.mask_ = [1]
    check_is_fitted(est, ["coefs_", "mask_"])


def test_check_is_fitted_class_rejected():
    with pytest.raises(TypeError, match="class"):
        check_is_fitted(SparseMLPRegressor)


def test_not_fitted_error_is_value_and_attribute_error():
    # sklearn's NotFittedError subclasses both, so except-clauses written for either work
    with pytest.raises(ValueError):
        check_is_fitted(SparseMLPRegressor())
    with pytest.raises(AttributeError):
        check_is_fitted(SparseMLPRegressor())
