import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bsdl.results import PredictionIntervals

MEAN = np.array([1.0, -2.0, 0.5, 3.0])
SE = np.array([0.5, 1.0, 0.0, 2.0])


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.32, 0.5])
def test_interval_math_matches_scipy(alpha):
    pi = PredictionIntervals(MEAN, SE, alpha=alpha)
    z = norm.ppf(1 - alpha / 2)
    assert pi.z == pytest.approx(z)
    np.testing.assert_allclose(pi.lower, MEAN - z * SE)
    np.testing.assert_allclose(pi.upper, MEAN + z * SE)
    np.testing.assert_allclose(pi.width, 2 * z * SE)
    assert pi.alpha == alpha
    assert pi.kind == "prediction"
    assert not pi.joint
    assert len(pi) == 4


def test_bonferroni_joint_uses_alpha_over_n():
    pi = PredictionIntervals(MEAN, SE, alpha=0.1, joint=True)
    z = norm.ppf(1 - 0.1 / (2 * len(MEAN)))
    assert pi.z == pytest.approx(z)
    np.testing.assert_allclose(pi.upper, MEAN + z * SE)
    assert pi.joint
    # joint intervals are wider than marginal ones
    marginal = PredictionIntervals(MEAN, SE, alpha=0.1)
    assert np.all(pi.width >= marginal.width)
    assert np.any(pi.width > marginal.width)
    # conf_int at another alpha keeps the correction
    ci = pi.conf_int(alpha=0.2)
    z2 = norm.ppf(1 - 0.2 / (2 * len(MEAN)))
    np.testing.assert_allclose(ci[:, 1], MEAN + z2 * SE)


def test_joint_single_row_equals_marginal():
    a = PredictionIntervals([1.0], [1.0], joint=True)
    b = PredictionIntervals([1.0], [1.0])
    assert a.z == pytest.approx(b.z)


@pytest.mark.parametrize("joint", [False, True])
def test_conf_int_equals_with_alpha(joint):
    pi = PredictionIntervals(MEAN, SE, alpha=0.05, joint=joint)
    ci = pi.conf_int(alpha=0.2)
    other = pi.with_alpha(0.2)
    assert ci.shape == (4, 2)
    np.testing.assert_allclose(ci[:, 0], other.lower)
    np.testing.assert_allclose(ci[:, 1], other.upper)
    assert other.alpha == 0.2
    assert pi.alpha == 0.05  # original unchanged
    assert other.joint == joint
    np.testing.assert_array_equal(other.mean, pi.mean)
    # default alpha is self.alpha
    np.testing.assert_allclose(pi.conf_int(), np.stack([pi.lower, pi.upper], axis=-1))


def test_conf_int_2d_shape():
    mean = np.full((3, 2), 0.5)
    se = np.full((3, 2), 0.1)
    ci = PredictionIntervals(mean, se).conf_int(alpha=0.1)
    assert ci.shape == (3, 2, 2)
    np.testing.assert_allclose(ci[..., 1], 0.5 + norm.ppf(0.95) * 0.1)


def test_conf_int_frame_with_index():
    idx = pd.date_range("2024-01-01", periods=4, freq="D")
    pi = PredictionIntervals(MEAN, SE, index=idx)
    ci = pi.conf_int(alpha=0.1)
    assert isinstance(ci, pd.DataFrame)
    assert list(ci.columns) == ["lower", "upper"]
    assert ci.index.equals(idx)


def test_to_frame_1d_columns_and_index():
    frame = PredictionIntervals(MEAN, SE).to_frame()
    assert list(frame.columns) == ["mean", "se", "lower", "upper"]
    assert frame.index.equals(pd.RangeIndex(4))
    idx = pd.Index(["a", "b", "c", "d"], name="id")
    pi = PredictionIntervals(MEAN, SE, index=idx)
    frame = pi.to_frame()
    assert frame.index.equals(idx)
    np.testing.assert_allclose(frame["lower"], pi.lower)
    np.testing.assert_allclose(frame["se"], SE)
    # the frame is a copy: editing it does not touch the result
    frame.loc["a", "mean"] = 99.0
    assert pi.mean[0] == 1.0


def test_index_taken_from_series():
    s = pd.Series(MEAN, index=pd.Index([10, 11, 12, 13]))
    pi = PredictionIntervals(s, SE)
    assert list(pi.index) == [10, 11, 12, 13]
    assert list(pi.to_frame().index) == [10, 11, 12, 13]


def test_to_frame_2d_multiindex():
    mean = np.array([[0.2, 0.8], [0.6, 0.4]])
    se = np.full((2, 2), 0.1)
    pi = PredictionIntervals(mean, se, columns=["no", "yes"], bounds=(0, 1))
    frame = pi.to_frame()
    assert isinstance(frame.columns, pd.MultiIndex)
    assert list(frame.columns.get_level_values(0).unique()) == ["mean", "se", "lower", "upper"]
    assert list(frame["upper"].columns) == ["no", "yes"]
    np.testing.assert_allclose(frame["lower"].to_numpy(), pi.lower)
    assert list(pi.columns) == ["no", "yes"]


def test_bounds_clipping():
    mean = np.array([0.02, 0.5, 0.97])
    se = np.array([0.1, 0.1, 0.1])
    pi = PredictionIntervals(mean, se, bounds=(0.0, 1.0))
    z = norm.ppf(0.975)
    np.testing.assert_allclose(pi.lower, np.clip(mean - z * se, 0, 1))
    np.testing.assert_allclose(pi.upper, np.clip(mean + z * se, 0, 1))
    assert pi.lower[0] == 0.0 and pi.upper[2] == 1.0
    assert pi.bounds == (0.0, 1.0)
    ci = pi.conf_int(alpha=0.001)
    assert ci.min() >= 0.0 and ci.max() <= 1.0
    one_sided = PredictionIntervals(mean, se, bounds=(0.0, None))
    assert one_sided.lower.min() >= 0.0
    assert one_sided.upper[2] > 1.0
    assert pi.with_alpha(0.5).bounds == (0.0, 1.0)


def test_coverage():
    pi = PredictionIntervals(np.zeros(4), np.ones(4))
    z = norm.ppf(0.975)
    assert pi.coverage([0.0, z - 1e-9, z + 1e-3, -5.0]) == 0.5
    assert pi.coverage(np.zeros((4, 1))) == 1.0
    assert pi.coverage(pd.Series([0.0, 0.0, 0.0, 10.0])) == 0.75
    with pytest.raises(ValueError, match="y must have shape"):
        pi.coverage([0.0, 1.0])
    with pytest.raises(ValueError, match="y contains"):
        pi.coverage([0.0, np.nan, 0.0, 0.0])
    pi2 = PredictionIntervals(np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="1-D"):
        pi2.coverage([0.0, 0.0])


def test_coverage_is_nominal_on_simulated_data():
    rng = np.random.default_rng(0)
    n = 20_000
    pi = PredictionIntervals(np.zeros(n), np.full(n, 2.0), alpha=0.1)
    cov = pi.coverage(rng.normal(0.0, 2.0, n))
    assert abs(cov - 0.9) < 0.01


def test_read_only_and_copied():
    mean = MEAN.copy()
    se = SE.copy()
    pi = PredictionIntervals(mean, se)
    for arr in (pi.mean, pi.se, pi.lower, pi.upper):
        assert arr.dtype == np.float64
        with pytest.raises(ValueError):
            arr[0] = 123.0
    mean[0] = 100.0
    se[0] = 100.0
    assert pi.mean[0] == 1.0 and pi.se[0] == 0.5
    assert not np.shares_memory(pi.mean, mean)


def test_mean_attributes_hold_plain_arrays():
    pi = PredictionIntervals(pd.Series(MEAN), list(SE))
    assert type(pi.mean) is np.ndarray
    assert type(pi.se) is np.ndarray


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        PredictionIntervals(MEAN, SE, alpha=alpha)
    pi = PredictionIntervals(MEAN, SE)
    with pytest.raises(ValueError, match="alpha"):
        pi.conf_int(alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        pi.with_alpha(alpha)


def test_alpha_type():
    with pytest.raises(TypeError, match="alpha"):
        PredictionIntervals(MEAN, SE, alpha="0.05")
    with pytest.raises(TypeError, match="alpha"):
        PredictionIntervals(MEAN, SE, alpha=True)


def test_bad_se():
    with pytest.raises(ValueError, match="se must be non-negative"):
        PredictionIntervals(MEAN, -SE - 1)
    with pytest.raises(ValueError, match="se contains"):
        PredictionIntervals(MEAN, [1.0, np.inf, 1.0, 1.0])
    with pytest.raises(ValueError, match="se must have the same shape"):
        PredictionIntervals(MEAN, SE[:3])


def test_bad_mean():
    with pytest.raises(ValueError, match="mean contains"):
        PredictionIntervals([np.nan, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="mean"):
        PredictionIntervals(np.zeros((2, 2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="mean is empty"):
        PredictionIntervals([], [])
    with pytest.raises(TypeError, match="mean"):
        PredictionIntervals(["a", "b"], [1.0, 1.0])


def test_bad_options():
    with pytest.raises(ValueError, match="kind"):
        PredictionIntervals(MEAN, SE, kind="credible")
    with pytest.raises(ValueError, match="index"):
        PredictionIntervals(MEAN, SE, index=[1, 2])
    with pytest.raises(ValueError, match="columns"):
        PredictionIntervals(MEAN, SE, columns=["a"])
    with pytest.raises(ValueError, match="columns"):
        PredictionIntervals(np.zeros((2, 2)), np.ones((2, 2)), columns=["a", "b", "c"])
    with pytest.raises(ValueError, match="bounds"):
        PredictionIntervals(MEAN, SE, bounds=(1.0, 0.0))
    with pytest.raises(ValueError, match="bounds"):
        PredictionIntervals(MEAN, SE, bounds=(0.0,))
    with pytest.raises(TypeError, match="joint"):
        PredictionIntervals(MEAN, SE, joint="yes")


def test_confidence_kind_and_repr():
    pi = PredictionIntervals(MEAN, SE, kind="confidence", alpha=0.1, joint=True)
    assert pi.kind == "confidence"
    text = repr(pi)
    assert "PredictionIntervals" in text and "90%" in text and "joint" in text
    assert "lower" in text
    html = pi._repr_html_()
    assert "<table" in html and "confidence" in html


def test_no_reference_to_estimator():
    pi = PredictionIntervals(MEAN, SE)
    values = vars(pi).values()
    allowed = (np.ndarray, float, bool, str, tuple, pd.Index, type(None))
    assert all(isinstance(v, allowed) for v in values)


# ------------------------------------------------------- Student-t and logit link
@pytest.mark.parametrize("df", [1.0, 3.0, 7.5, 30.0])
@pytest.mark.parametrize("joint", [False, True])
def test_student_t_critical_value_matches_scipy(df, joint):
    from scipy.stats import t

    a = 0.1 / len(MEAN) if joint else 0.1
    crit = t.ppf(1 - a / 2, df)
    pi = PredictionIntervals(MEAN, SE, alpha=0.1, df=df, joint=joint)
    assert pi.df == df
    assert pi.z == pytest.approx(crit, rel=1e-12)
    np.testing.assert_allclose(pi.lower, MEAN - crit * SE)
    np.testing.assert_allclose(pi.upper, MEAN + crit * SE)
    # t intervals are wider than normal ones (heavier tails)
    assert pi.z > PredictionIntervals(MEAN, SE, alpha=0.1, joint=joint).z
    # df survives with_alpha and is applied by conf_int at another alpha
    other = pi.with_alpha(0.2)
    assert other.df == df
    a2 = 0.2 / len(MEAN) if joint else 0.2
    np.testing.assert_allclose(pi.conf_int(0.2)[:, 1], MEAN + t.ppf(1 - a2 / 2, df) * SE)
    np.testing.assert_allclose(other.upper, pi.conf_int(0.2)[:, 1])


def test_student_t_with_large_df_tends_to_normal():
    normal = PredictionIntervals(MEAN, SE, alpha=0.05)
    # t_{df, q} - z_q = O(1/df): at df = 1e7 the two agree to ~1e-7 relative
    big = PredictionIntervals(MEAN, SE, alpha=0.05, df=1e7)
    assert big.z == pytest.approx(normal.z, rel=1e-6)
    # ends differ by (t - z) * se <= ~2.4e-7 * max(SE) = 5e-7
    np.testing.assert_allclose(big.upper, normal.upper, rtol=0, atol=1e-6)
    # and at a moderate df it is visibly different, so the check above can fail
    assert PredictionIntervals(MEAN, SE, df=10).z > normal.z + 0.2


def test_logit_link_matches_hand_computation():
    from scipy.special import expit, logit

    p = np.array([0.02, 0.3, 0.5, 0.9, 0.999])
    s = np.array([0.4, 1.0, 0.0, 0.5, 2.0])
    pi = PredictionIntervals(p, s, alpha=0.1, link="logit")
    z = norm.ppf(0.95)
    np.testing.assert_allclose(pi.lower, expit(logit(p) - z * s), rtol=1e-12)
    np.testing.assert_allclose(pi.upper, expit(logit(p) + z * s), rtol=1e-12)
    assert pi.link == "logit"
    np.testing.assert_array_equal(pi.mean, p)  # mean stays on the probability scale
    # asymmetric around the mean unless p = 0.5
    left, right = p - pi.lower, pi.upper - p
    assert left[0] < right[0] and left[3] > right[3]
    # with df, the t quantile is used on the logit scale
    pt = PredictionIntervals(p, s, alpha=0.1, link="logit", df=4)
    from scipy.stats import t

    np.testing.assert_allclose(pt.upper, expit(logit(p) + t.ppf(0.95, 4) * s), rtol=1e-12)
    # kept by with_alpha, shown by to_frame (same columns) and repr
    w = pt.with_alpha(0.2)
    assert w.link == "logit" and w.df == 4
    np.testing.assert_allclose(w.lower, expit(logit(p) - t.ppf(0.9, 4) * s), rtol=1e-12)
    frame = pt.to_frame()
    assert list(frame.columns) == ["mean", "se", "lower", "upper"]
    np.testing.assert_allclose(frame["upper"], pt.upper)
    assert "link='logit'" in repr(pt) and "df=4" in repr(pt)


def test_logit_interval_contains_mean_and_stays_in_unit_interval():
    rng = np.random.default_rng(0)
    p = rng.uniform(1e-6, 1 - 1e-6, size=500)
    s = rng.uniform(0.0, 5.0, size=500)
    for alpha in (0.01, 0.2):
        pi = PredictionIntervals(p, s, alpha=alpha, link="logit")
        assert np.all(pi.lower <= p) and np.all(p <= pi.upper)
        assert np.all(pi.lower > 0) and np.all(pi.upper < 1)
    # means at exactly 0 or 1 are accepted (clipped for the computation only)
    edge = PredictionIntervals([0.0, 1.0], [1.0, 1.0], link="logit")
    assert edge.lower[0] == 0.0 and 0.0 < edge.upper[0] < 1e-9
    assert edge.upper[1] == 1.0 and 1 - 1e-9 < edge.lower[1] < 1.0
    # an identity-link interval of the same numbers leaves (0, 1)
    assert PredictionIntervals([0.9], [0.5]).upper[0] > 1


@pytest.mark.parametrize("df", [0, -1.0, float("inf"), float("nan")])
def test_bad_df(df):
    with pytest.raises(ValueError, match="df"):
        PredictionIntervals(MEAN, SE, df=df)


@pytest.mark.parametrize("df", ["5", True, [3]])
def test_df_type(df):
    with pytest.raises(TypeError, match="df"):
        PredictionIntervals(MEAN, SE, df=df)


def test_bad_link():
    with pytest.raises(ValueError, match="link"):
        PredictionIntervals(MEAN, SE, link="probit")
    with pytest.raises(ValueError, match="link"):
        PredictionIntervals(MEAN, SE, link=None)
    # a logit mean must be a probability
    with pytest.raises(ValueError, match="mean must be a probability.*link='logit'"):
        PredictionIntervals([0.5, 1.2], [1.0, 1.0], link="logit")


# ------------------------------------------------------------ the Intervals base
def test_intervals_base_by_hand():
    from bsdl.results import Intervals

    iv = Intervals([0.0, 1.0, 2.0], [-1.0, 0.5, 2.0], [1.0, 3.0, 2.0], alpha=0.2)
    np.testing.assert_array_equal(iv.width, [2.0, 2.5, 0.0])
    assert iv.alpha == 0.2 and iv.level == pytest.approx(0.8) and len(iv) == 3
    y = [1.0, 0.0, 2.5]  # on the upper end (covered), 0.5 below, 0.5 above
    assert iv.coverage(y) == pytest.approx(1 / 3)
    # Winkler: width + (2 / 0.2) * distance outside = 2, 2.5 + 5, 0 + 5
    assert iv.interval_score(y) == pytest.approx((2.0 + 7.5 + 5.0) / 3)
    frame = iv.to_frame()
    assert list(frame.columns) == ["mean", "lower", "upper"]
    np.testing.assert_array_equal(frame["upper"], [1.0, 3.0, 2.0])
    assert repr(iv).startswith("Intervals(n=3, alpha=0.2 (80%))")
    assert "<table" in iv._repr_html_()


def test_prediction_intervals_are_intervals_with_the_same_metrics():
    from bsdl.conformal.metrics import coverage, interval_score
    from bsdl.results import Intervals

    rng = np.random.default_rng(1)
    mean, se = rng.normal(size=50), rng.uniform(0.5, 2.0, 50)
    y = mean + rng.normal(size=50) * 1.5
    pi = PredictionIntervals(mean, se, alpha=0.1, df=8)
    assert isinstance(pi, Intervals)
    plain = Intervals(pi.mean, pi.lower, pi.upper, pi.alpha)
    assert pi.coverage(y) == plain.coverage(y) == coverage(y, pi.lower, pi.upper)
    assert pi.interval_score(y) == pytest.approx(interval_score(y, pi.lower, pi.upper, 0.1))
    assert plain.interval_score(y) == pi.interval_score(y)
    pd.testing.assert_frame_equal(pi.to_frame()[["mean", "lower", "upper"]], plain.to_frame())


def test_intervals_base_checks_and_copies():
    from bsdl.results import Intervals

    lo, hi = np.array([-1.0, 0.0]), np.array([1.0, 2.0])
    iv = Intervals(np.zeros(2), lo, hi, index=["a", "b"])
    assert lo.flags.writeable and not iv.lower.flags.writeable  # the user's array untouched
    lo[0] = -50.0
    assert iv.lower[0] == -1.0
    assert list(iv.to_frame().index) == ["a", "b"]
    with pytest.raises(ValueError, match="lower must be <= upper.*the first at 1"):
        Intervals([0.0, 0.0], [-1.0, 1.0], [1.0, 0.5])
    with pytest.raises(ValueError, match="upper must have the same shape as mean"):
        Intervals([0.0, 0.0], [-1.0, -1.0], [1.0])
    with pytest.raises(ValueError, match="lower contains 1 non-finite"):
        Intervals([0.0], [np.nan], [1.0])
    with pytest.raises(ValueError, match="alpha"):
        Intervals([0.0], [-1.0], [1.0], alpha=2.0)
    with pytest.raises(ValueError, match="index has length 1"):
        Intervals([0.0, 0.0], lo, hi, index=["a"])
    with pytest.raises(ValueError, match="y has 3 values but lower has 2"):
        iv.interval_score([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="1-D"):
        Intervals(np.zeros((2, 2)), -np.ones((2, 2)), np.ones((2, 2))).interval_score([0, 0])
    with pytest.raises(AttributeError):
        iv.alpha = 0.5
