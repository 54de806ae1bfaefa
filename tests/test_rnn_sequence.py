"""The sequence-forecaster base (bsdl/models/sequence.py) and the shared constructor parameters.

A new sequence forecaster is a network module plus a thin estimator (docs/ARCHITECTURE.md,
"A new sequence forecaster"). ``SparseStepMLP`` below is one: the same small MLP applied to
every step's lag vector (a nonlinear autoregression without memory). Because its output at a
step depends on that step's lag vector only, its forecasts can be computed by hand from the
series, independently of the windows and the recursion of bsdl/models/_windows.py.
"""

from __future__ import annotations

import inspect
import re
import warnings
from functools import partial
from numbers import Integral

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils._param_validation import Interval

import bsdl
from bsdl import SparseMLPClassifier, SparseMLPRegressor, SparseRNN
from bsdl.datasets import make_ar
from bsdl.models._params import SHARED_CONSTRAINTS, SHARED_PARAMETERS_DOC, fill_doc
from bsdl.models.io import register
from bsdl.models.sequence import (
    SEQUENCE_ATTRIBUTES_DOC,
    SEQUENCE_PARAMETERS_DOC,
    SequenceForecaster,
    build_network,
)
from bsdl.nn import MLP


# ----------------------------------------------------------------------------- a new forecaster
class StepMLP(MLP):
    """``(b, k, p)`` windows -> ``(b, k)``: one MLP on each step's lag vector."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x).squeeze(-1)


@register
@fill_doc(
    sequence_parameters=SEQUENCE_PARAMETERS_DOC,
    shared_parameters=SHARED_PARAMETERS_DOC,
    sequence_attributes=SEQUENCE_ATTRIBUTES_DOC,
)
class SparseStepMLP(SequenceForecaster):
    """Sparse memoryless autoregression (a test of the sequence base).

    Parameters
    ----------
    {sequence parameters}
    hidden : int, default 3
        Hidden units of the per-step MLP.
    {shared parameters}

    Attributes
    ----------
    {sequence attributes}
    hidden_ : int
    """

    _parameter_constraints: dict = {
        "hidden": [Interval(Integral, 1, None, closed="left")],
        **SequenceForecaster._parameter_constraints,
    }
    _summary_title = "Sparse Step-MLP Autoregression Results"

    def __init__(
        self,
        lags=4,
        *,
        hidden=3,
        window=4,
        burn_in="auto",
        skip=False,
        prune="threshold",
        prior=None,
        annealing=None,
        optimizer="adam",
        lr=3e-3,
        n_epochs="auto",
        batch_size="auto",
        refit_epochs="auto",
        n_restarts=1,
        restart_criterion="bic",
        missing="raise",
        n_jobs=None,
        random_state=None,
        device="cpu",
        verbose=False,
    ):
        self.lags = lags
        self.hidden = hidden
        self.window = window
        self.burn_in = burn_in
        self.skip = skip
        self.prune = prune
        self.prior = prior
        self.annealing = annealing
        self.optimizer = optimizer
        self.lr = lr
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.refit_epochs = refit_epochs
        self.n_restarts = n_restarts
        self.restart_criterion = restart_criterion
        self.missing = missing
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _check_network(self):
        if self.skip:
            raise ValueError("skip must be False: StepMLP has no linear path")

    def _store_network(self):
        self.hidden_ = int(self.hidden)

    def _network_factory(self):
        return partial(build_network, StepMLP, self.n_features_in_, (self.hidden_,))

    def _network_rows(self):
        return [("Network:", f"step MLP ({self.hidden_} units)")]


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def step_fit():
    """AR(1) y_t = 0.8 y_{t-1} + e_t, n = 600: a strong lag 1, lags 2-4 absent."""
    y = make_ar(600, {1: 0.8}, random_state=3)
    model = SparseStepMLP(lags=4, hidden=3, n_epochs=80, random_state=0)
    return y, _quiet(model.fit, y)


def _net(model, lag_vector) -> torch.Tensor:
    """The fitted network on one standardised lag vector (newest value first)."""
    if not isinstance(lag_vector, torch.Tensor):
        lag_vector = torch.as_tensor(np.ascontiguousarray(lag_vector), dtype=torch.float32)
    x = lag_vector.reshape(1, 1, -1)
    return model.module_(x)[0, -1]


def test_new_forecaster_selects_the_true_lag(step_fit):
    _, m = step_fit
    # lag 1 carries a coefficient of 0.8 at n = 600 (t statistic about 33): a fit that
    # drops it, or whose inclusion probability for it is below 1/2, is broken
    assert 1 in m.selected_lags_.tolist()
    assert m.inclusion_probabilities_[0] > 0.5
    assert m.ar_order_ == m.selected_lags_.max()
    assert m.hidden_ == 3 and m.lags_ == 4 and m.window_ == 4 and m.burn_in_ == 2


def test_new_forecaster_forecasts_by_hand(step_fit):
    """Recursive forecasts and one-step predictions equal the network on lag vectors built
    here from the series (newest lag first), on the original scale."""
    y, m = step_fit
    z = (y - m.y_mean_) / m.y_scale_
    with torch.no_grad():
        f1 = float(_net(m, z[::-1][:4]))
        f2 = float(_net(m, np.r_[f1, z[::-1][:3]]))
        last_one_step = float(_net(m, z[::-1][1:5]))  # the prediction of y[-1] from y[:-1]
    by_hand = np.array([f1, f2]) * m.y_scale_ + m.y_mean_
    np.testing.assert_allclose(m.predict(steps=2).to_numpy(), by_hand, rtol=1e-5)
    one_step = m.predict(series=y)
    assert one_step.index[-1] == len(y) - 1
    np.testing.assert_allclose(one_step.iloc[-1], last_one_step * m.y_scale_ + m.y_mean_, rtol=1e-5)


def test_new_forecaster_innovation_variance_by_hand(step_fit):
    """Prediction minus confidence variance: sigma^2 at h = 1 and sigma^2 (1 + psi^2) at
    h = 2, with psi the derivative of the 2-step forecast in its first lag (autograd here)."""
    y, m = step_fit
    pred = m.predict_interval(steps=2)
    conf = m.predict_interval(steps=2, kind="confidence")
    extra = (pred.se**2 - conf.se**2) / m.y_scale_**2  # the standardised scale
    sigma2 = (m.sigma_ / m.y_scale_) ** 2
    z = (y - m.y_mean_) / m.y_scale_
    with torch.no_grad():
        f1 = float(_net(m, z[::-1][:4]))
    vec = torch.tensor(np.r_[f1, z[::-1][:3]], dtype=torch.float32, requires_grad=True)
    _net(m, vec).backward()
    psi = float(vec.grad[0])
    np.testing.assert_allclose(extra, [sigma2, sigma2 * (1 + psi**2)], rtol=1e-4)


def test_new_forecaster_summary_and_round_trip(step_fit, tmp_path):
    y, m = step_fit
    text = str(m.summary())
    assert "Sparse Step-MLP Autoregression Results" in text
    assert re.search(r"Model:\s+SparseStepMLP", text)
    assert re.search(r"Network:\s+step MLP \(3 units\)", text)
    assert re.search(r"Candidate lags:\s+1\.\.4", text)
    loaded = bsdl.load(m.save(tmp_path / "step.bsdl"))
    assert type(loaded) is SparseStepMLP and loaded.hidden_ == 3
    pd.testing.assert_frame_equal(
        loaded.predict_interval(steps=3).to_frame(), m.predict_interval(steps=3).to_frame()
    )
    pd.testing.assert_frame_equal(
        loaded.predict_interval(series=y).to_frame(), m.predict_interval(series=y).to_frame()
    )


def test_new_forecaster_checks_its_own_parameters():
    y = make_ar(100, {1: 0.5}, random_state=0)
    with pytest.raises(ValueError, match="'hidden' parameter of SparseStepMLP"):
        SparseStepMLP(hidden=0).fit(y)
    with pytest.raises(ValueError, match="skip must be False"):
        SparseStepMLP(skip=True).fit(y)


# ----------------------------------------------------------------------------- parameters
ESTIMATORS = [SparseRNN(), SparseMLPRegressor(), SparseMLPClassifier(), SparseStepMLP()]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_every_constructor_argument_is_constrained(est):
    assert set(est._parameter_constraints) == set(est.get_params(deep=False))
    for name in SHARED_CONSTRAINTS:  # the shared checks are the same objects everywhere
        assert est._parameter_constraints[name] is SHARED_CONSTRAINTS[name]


def _documented_parameters(cls) -> list[str]:
    doc = inspect.cleandoc(cls.__doc__)
    section = doc.split("Parameters\n----------\n", 1)[1].split("\n\n", 1)[0]
    names = []
    for line in section.splitlines():
        if line and not line[0].isspace():
            names += [n.strip() for n in line.split(" : ")[0].split(",")]
    return names


@pytest.mark.parametrize("cls", [SparseRNN, SparseMLPRegressor, SparseStepMLP])
def test_docstring_documents_every_parameter_once(cls):
    documented = _documented_parameters(cls)
    expected = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    assert sorted(documented) == sorted(expected), documented
    assert len(documented) == len(set(documented))
    assert not re.search(r"^\s*\{[a-z ]+\}\s*$", cls.__doc__, re.MULTILINE)


def test_shared_text_is_the_same_in_every_estimator():
    first = SHARED_PARAMETERS_DOC.splitlines()[0]
    for cls in (SparseRNN, SparseMLPRegressor):
        doc = inspect.cleandoc(cls.__doc__)
        assert SHARED_PARAMETERS_DOC in doc, cls.__name__
        assert doc.count(first) == 1


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(prune="all"), "prune"),
        (dict(burn_in=-1), "burn_in"),
        (dict(num_layers=0), "num_layers"),
        (dict(n_restarts=0), "n_restarts"),
        (dict(restart_criterion="aic"), "restart_criterion"),
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(prior="spike"), "prior"),
    ],
)
def test_rnn_parameters_checked_before_the_data(params, name):
    # the series is too short for any fit: the parameter error must come first
    with pytest.raises(ValueError, match=f"'{name}' parameter of SparseRNN"):
        SparseRNN(**params).fit([1.0, 2.0, 3.0])


def test_fill_doc_refuses_a_missing_fragment_or_marker():
    with pytest.raises(ValueError, match="no fragment for"):

        @fill_doc(shared_parameters="x")
        class A:
            """{shared parameters}
            {other thing}
            """

    with pytest.raises(ValueError, match="has no line for"):

        @fill_doc(shared_parameters="x")
        class B:
            """No marker."""


def test_restarts_in_worker_processes_match_one_process():
    """The network factory is picklable: restarts run by joblib in two processes give the
    same fit as in this one (each restart's seed is drawn before dispatch)."""
    y = make_ar(200, {1: 0.5}, random_state=0)
    kw = dict(lags=3, hidden_size=2, n_epochs=10, n_restarts=2, random_state=0)
    one = _quiet(SparseRNN(**kw).fit, y)
    two = _quiet(SparseRNN(n_jobs=2, **kw).fit, y)
    pd.testing.assert_frame_equal(one.restarts_, two.restarts_)
    pd.testing.assert_frame_equal(
        one.predict_interval(steps=2).to_frame(), two.predict_interval(steps=2).to_frame()
    )
