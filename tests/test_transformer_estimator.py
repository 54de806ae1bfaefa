"""SparseTransformer: lag selection, one-step and h-step intervals, summary, save/load."""

from __future__ import annotations

import inspect
import re
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch

import bsdl
from bsdl import SparseTransformer
from bsdl.datasets import make_ar, make_nonlinear_ar
from bsdl.exceptions import SingularFisherWarning
from bsdl.intervals import per_sample_jacobian
from bsdl.models._params import SHARED_CONSTRAINTS, SHARED_PARAMETERS_DOC
from bsdl.models._windows import lag_windows, last_steps, training_ends
from bsdl.nn import LagTransformer
from bsdl.sparsify import get_masks

SMALL = dict(lags=5, d_model=4, n_heads=2, dim_feedforward=4)


def _quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def ar2_fit():
    """AR(2) y_t = 0.6 y_{t-1} - 0.3 y_{t-2} + e_t: 1000 points to fit, 500 held out."""
    y = make_ar(1500, {1: 0.6, 2: -0.3}, random_state=0)
    return y, _quiet_fit(SparseTransformer(n_epochs=60, random_state=0, **SMALL), y[:1000])


@pytest.mark.slow
def test_ar2_lags_selected(ar2_fit):
    # t-statistics of both lags exceed 10 at n = 1000; lags 3-5 carry nothing
    _, m = ar2_fit
    np.testing.assert_array_equal(m.selected_lags_, [1, 2])
    assert m.ar_order_ == 2
    q = m.inclusion_probabilities_
    assert q.shape == (5,) and np.all(q[:2] > 0.5) and np.all(q[2:] < 0.5)
    assert m.mask_["head.bias"].all() and "head.bias" in m._selected_index  # the level
    assert 0.9 < m.sigma_ < 1.1  # innovation sd 1; its estimate has sd ~ 1/sqrt(2000)


@pytest.mark.slow
def test_one_step_coverage_on_held_out_points(ar2_fit):
    # 500 held-out one-step 95 % intervals: the errors are the iid innovations, so the
    # hits are Bernoulli(0.95) given the fit, binomial se sqrt(.95 * .05 / 500) = 0.0097;
    # allow 3 se
    y, m = ar2_fit
    pi = m.predict_interval(series=y, alpha=0.05)
    tail = slice(-500, None)
    hits = (y[tail] >= pi.lower[tail]) & (y[tail] <= pi.upper[tail])
    assert abs(hits.mean() - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / 500), hits.mean()
    assert pi.to_frame().index[-1] == 1499


def test_one_step_forecast_is_the_last_point_of_a_continuation(ar2_fit):
    y, m = ar2_fit
    ahead = m.predict(steps=1)
    along = m.predict(series=np.append(y[:1000], 0.0))
    assert ahead.index[0] == 1000 and along.index[-1] == 1000
    np.testing.assert_allclose(ahead.iloc[0], along.iloc[-1], rtol=1e-5, atol=1e-6)
    # the value appended at time 1000 does not enter its own prediction (causal)
    assert m.predict(series=np.append(y[:1000], 50.0)).iloc[-1] == along.iloc[-1]


def test_h_step_intervals(ar2_fit):
    _, m = ar2_fit
    point = m.predict_interval(steps=6, alpha=0.1, joint=False)
    joint = m.predict_interval(steps=6, alpha=0.1)
    assert joint.joint and np.all(joint.width > point.width)
    np.testing.assert_array_equal(joint.mean, point.mean)
    # the h-step error variance of an AR(2) is sigma^2 sum_{j<h} psi_j^2 (psi_0 = 1,
    # psi_j = 0.6 psi_{j-1} - 0.3 psi_{j-2}) plus an O(1/n) estimation term; coefficients
    # estimated from 1000 points move the ratio by about a per cent
    psi = [1.0, 0.6]
    for _ in range(4):
        psi.append(0.6 * psi[-1] - 0.3 * psi[-2])
    theory = np.sqrt(np.cumsum(np.square(psi)))
    np.testing.assert_allclose(point.se / point.se[0], theory, rtol=0.05)
    conf = m.predict_interval(steps=6, kind="confidence", joint=False)
    assert np.all(conf.se < point.se) and np.all(conf.se > 0)
    # the forecast decays to the mean; h = 1 is sigma plus an O(1/n) estimation term
    assert point.se[0] == pytest.approx(m.sigma_, rel=0.05)
    assert abs(point.mean[-1] - m.y_mean_) < abs(point.mean[0] - m.y_mean_) + 0.1


@pytest.fixture(scope="module")
def attention_fit():
    """A fit that keeps attention and feed-forward weights (weak spike, threshold only),
    so forecasts and their Jacobians go through the attention layers."""
    y = make_nonlinear_ar(500, random_state=1)
    prior = bsdl.MixtureGaussianPrior(lambda_=0.1, sigma0=0.005, sigma1=1.0)
    m = SparseTransformer(n_epochs=30, prior=prior, prune="threshold", random_state=0, **SMALL)
    return y, _quiet_fit(m, y)


def test_attention_survives_and_intervals_are_finite(attention_fit):
    y, m = attention_fit
    assert any(m.mask_[k].any() for k in m.mask_ if k.startswith("layers.0.q"))
    pi = m.predict_interval(steps=4)
    assert np.isfinite(pi.mean).all() and np.all(pi.se > 0)
    along = m.predict_interval(series=y, alpha=0.1)
    assert np.isfinite(along.se).all() and np.all(along.se >= m.sigma_ * (1 - 1e-6))


def test_save_load_is_bit_identical(attention_fit, tmp_path):
    y, m = attention_fit
    back = bsdl.load(m.save(tmp_path / "transformer.safetensors"))
    assert type(back) is SparseTransformer
    pd.testing.assert_frame_equal(
        back.predict_interval(steps=3).to_frame(),
        m.predict_interval(steps=3).to_frame(),
        check_exact=True,
    )
    pd.testing.assert_series_equal(back.predict(series=y), m.predict(series=y), check_exact=True)
    np.testing.assert_array_equal(back.selected_lags_, m.selected_lags_)
    np.testing.assert_array_equal(back.inclusion_probabilities_, m.inclusion_probabilities_)
    assert str(back.summary()) == str(m.summary())
    for name in ("d_model_", "n_heads_", "num_layers_", "dim_feedforward_", "norm_"):
        assert getattr(back, name) == getattr(m, name)


def test_summary_header(attention_fit):
    _, m = attention_fit
    text = str(m.summary())
    assert "Sparse Transformer Autoregression Results" in text
    lags = ", ".join(map(str, m.selected_lags_)) or "none"
    for label, value in [
        ("Model:", "SparseTransformer"),
        ("Encoder:", "1 x (d_model 4, 2 heads, ff 4)"),
        ("Window / burn-in:", "8 / 4"),
        ("Candidate lags:", "1..5"),
        ("Selected lags:", lags),
        ("Non-zero weights:", f"{m.n_nonzero_} / {m.n_params_}"),
        ("BIC:", f"{m.bic_:.2f}"),
    ]:
        assert re.search(re.escape(label) + r"\s+" + re.escape(value), text), label
    assert "lag 5" in text


def test_set_params_after_fit_changes_nothing(attention_fit):
    y, m = attention_fit
    before = m.predict_interval(steps=2).to_frame()
    m.set_params(d_model=8, n_heads=4, num_layers=3, norm=True)
    try:
        pd.testing.assert_frame_equal(m.predict_interval(steps=2).to_frame(), before)
        assert "d_model 4, 2 heads" in str(m.summary())
    finally:
        m.set_params(d_model=4, n_heads=2, num_layers=1, norm=False)


def _fit_and_information(monkeypatch=None, null=None):
    """A weak-prior fit that keeps the attention; the null eigenvalues of its Fisher
    information, rebuilt here from the training windows, under the cut-off of the
    estimator's pseudo-inverse (1e-10 of the largest)."""
    if null is not None:
        monkeypatch.setattr(LagTransformer, "null_dimension", null)
    y = make_nonlinear_ar(500, random_state=1)
    prior = bsdl.MixtureGaussianPrior(lambda_=0.1, sigma0=0.005, sigma1=1.0)
    model = SparseTransformer(n_epochs=30, prior=prior, prune="threshold", random_state=0, **SMALL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = model.fit(y)
    singular = [str(w.message) for w in caught if issubclass(w.category, SingularFisherWarning)]
    z = torch.as_tensor((y - m.y_mean_) / m.y_scale_, dtype=torch.float32)
    windows = lag_windows(z, None, 5, 8, training_ends(500, 5, 8, 4))
    jac = per_sample_jacobian(
        m.module_, windows, m._selected_index, output_fn=partial(last_steps, count=4)
    ).double()
    info = torch.einsum("nkd,nke->de", jac, jac)
    ev = torch.linalg.eigvalsh(0.5 * (info + info.T))
    return m, singular, len(ev), int((ev <= 1e-10 * ev.max()).sum())


def test_structural_null_directions_are_null_in_the_fitted_information():
    m, singular, dim, n_null = _fit_and_information()
    structural = m.module_.null_dimension(get_masks(m.module_), 8)
    assert 0 < structural <= n_null < dim
    # a warning exactly when the fitted information has more null directions than that
    assert len(singular) == int(n_null > structural)
    if singular:
        assert f"rank {dim - n_null}, below the {dim - structural}" in singular[0]


@pytest.mark.parametrize("explained", [True, False])
def test_singular_fisher_warning_only_beyond_the_structure(monkeypatch, explained):
    # the override's rule alone: null_dimension replaced by the exact count of the fitted
    # information's null directions (no warning) or by 0 (the base's warning, with ranks)
    counts = {}

    def null(self, masks, steps, seed=0):
        return counts.get("n_null", 0) if explained else 0

    m, _, dim, n_null = _fit_and_information()
    counts["n_null"] = n_null
    _, singular, _, again = _fit_and_information(monkeypatch, null)
    assert again == n_null > 0  # the same fit
    if explained:
        assert singular == []
    else:
        assert len(singular) == 1 and f"rank {dim - n_null}, below the {dim}" in singular[0]


@pytest.mark.parametrize("norm", [True, False])
def test_norm_and_two_layers_fit_and_forecast(norm):
    y = make_ar(300, {1: 0.6}, random_state=6)
    m = _quiet_fit(
        SparseTransformer(num_layers=2, norm=norm, n_epochs=20, random_state=0, **SMALL), y
    )
    pi = m.predict_interval(steps=3)
    assert np.isfinite(pi.mean).all() and np.all(pi.se > 0)
    assert m.norm_ is norm and m.num_layers_ == 2


def test_reproducible_with_exog(tmp_path):
    y, x = make_ar(400, {1: 0.5}, exog=2, random_state=5)
    kw = dict(n_epochs=20, random_state=3, **SMALL)
    a = _quiet_fit(SparseTransformer(**kw), y, x)
    b = _quiet_fit(SparseTransformer(**kw), y, x)
    future = np.zeros((3, 2))
    pd.testing.assert_series_equal(a.predict(steps=3, exog=future), b.predict(steps=3, exog=future))
    assert a.exog_inclusion_probabilities_.shape == (2, 5)
    back = bsdl.load(a.save(tmp_path / "exog.safetensors"))
    pd.testing.assert_series_equal(
        back.predict(steps=3, exog=future), a.predict(steps=3, exog=future)
    )


# ----------------------------------------------------------------------------- parameters
def test_every_constructor_argument_is_constrained_and_documented_once():
    est = SparseTransformer()
    assert set(est._parameter_constraints) == set(est.get_params(deep=False))
    for name in SHARED_CONSTRAINTS:
        assert est._parameter_constraints[name] is SHARED_CONSTRAINTS[name]
    doc = inspect.cleandoc(SparseTransformer.__doc__)
    section = doc.split("Parameters\n----------\n", 1)[1].split("\n\n", 1)[0]
    names = []
    for line in section.splitlines():
        if line and not line[0].isspace():
            names += [n.strip() for n in line.split(" : ")[0].split(",")]
    expected = [p for p in inspect.signature(SparseTransformer.__init__).parameters if p != "self"]
    assert sorted(names) == sorted(expected) and len(names) == len(set(names))
    assert SHARED_PARAMETERS_DOC in doc
    assert not re.search(r"^\s*\{[a-z ]+\}\s*$", SparseTransformer.__doc__, re.MULTILINE)


def test_exported():
    assert bsdl.SparseTransformer is SparseTransformer
    assert "SparseTransformer" in bsdl.__all__
    assert "SparseTransformer" in bsdl.models.__all__
