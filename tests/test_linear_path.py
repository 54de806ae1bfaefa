"""The linear path chosen by BIC (bsdl.sparsify.linear_path), the seasonal default lags and
their use by the sequence forecasters (issue 14)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from statsmodels.tsa.ar_model import AutoReg, ar_select_order
from torch import nn

from bsdl import SparseRNN
from bsdl._series import default_lags, seasonal_period
from bsdl.datasets import make_ar
from bsdl.sparsify import choose_linear_path, linear_path_bic


def _lag_matrix(y: np.ndarray, maxlag: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.column_stack([y[maxlag - j : len(y) - j] for j in range(1, maxlag + 1)])
    return x, y[maxlag:]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_linear_path_bic_is_statsmodels_global_search(seed):
    # an independent answer: statsmodels' global subset search by BIC on the same rows
    rng = np.random.default_rng(seed)
    y = np.zeros(400)
    e = rng.normal(size=400)
    for t in range(7, 400):
        y[t] = 0.5 * y[t - 1] - 0.25 * y[t - 3] + 0.2 * y[t - 7] + e[t]
    maxlag = 8
    x, target = _lag_matrix(y, maxlag)
    _, cols = linear_path_bic(x, target)
    sm = ar_select_order(y, maxlag=maxlag, ic="bic", glob=True).ar_lags or []
    assert [c + 1 for c in cols] == list(sm)


def test_greedy_search_matches_the_exhaustive_search():
    # 15 columns > max_exhaustive = 12: greedy add-or-drop moves from the empty set; on a
    # strong sparse signal it must reach the same subset (and BIC) as all 2^15 subsets.
    for seed in range(4):
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(500, 15))
        y = 2.0 + x[:, 2] - 0.8 * x[:, 11] + 0.5 * rng.normal(size=500)
        greedy = linear_path_bic(x, y)
        exhaustive = linear_path_bic(x, y, max_exhaustive=15)
        assert greedy[1] == exhaustive[1]
        assert greedy[0] == pytest.approx(exhaustive[0])
        assert {2, 11} <= set(greedy[1])


class _Net(nn.Module):
    """g(x) = v tanh(a . x) + skip(x) + level (in v.bias)."""

    def __init__(self, p: int) -> None:
        super().__init__()
        self.a = nn.Linear(p, 1, bias=False)
        self.v = nn.Linear(1, 1)
        self.skip = nn.Linear(p, 1, bias=False)

    def forward(self, x):
        return (self.v(torch.tanh(self.a(x))) + self.skip(x)).squeeze(-1)


def _setup(y_fn, a, v, seed=0, n=600):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = y_fn(x) + 0.3 * torch.randn(n, generator=g)
    net = _Net(3)
    with torch.no_grad():
        net.a.weight.copy_(torch.tensor([a]))
        net.v.weight.fill_(v)
        net.v.bias.zero_()
        net.skip.weight.zero_()
    masks = {k: torch.ones_like(p, dtype=torch.bool) for k, p in net.named_parameters()}
    unit = ("unit", {"a.weight": masks["a.weight"].clone(), "v.weight": masks["v.weight"]})
    return net, masks, x, y, [unit]


def _choose(net, masks, x, y, groups):
    return choose_linear_path(
        net,
        masks,
        x=x,
        y=y,
        predict=lambda m: m(x),
        linear="skip.weight",
        level="v.bias",
        groups=groups,
    )


def test_a_unit_that_pays_stays_and_the_linear_path_is_profiled():
    # y = 2 tanh(3 x0) + 0.5 x2: the unit carries the nonlinear part; the linear path must
    # pick x2, with the least-squares coefficient of the partial residual
    net, masks, x, y, groups = _setup(
        lambda x: 2 * torch.tanh(3 * x[:, 0]) + 0.5 * x[:, 2] + 1.0, [3.0, 0.0, 0.0], 2.0
    )
    before = {k: v.clone() for k, v in masks.items()}
    new, choice = _choose(net, masks, x, y, groups)
    assert choice.removed == ()
    assert 2 in choice.linear_inputs and 1 not in choice.linear_inputs
    assert all(torch.equal(before[k], masks[k]) for k in masks)  # input masks untouched
    # the written weights are the least squares of u = y - g(x) on [x_S, 1]
    u = (y - 2 * torch.tanh(3 * x[:, 0])).double().numpy()
    cols = list(choice.linear_inputs)
    design = np.column_stack([x[:, cols].double().numpy(), np.ones(len(u))])
    coef = np.linalg.lstsq(design, u, rcond=None)[0]
    np.testing.assert_allclose(net.skip.weight[0, cols].detach().numpy(), coef[:-1], atol=1e-5)
    np.testing.assert_allclose(net.v.bias.item(), coef[-1], atol=1e-5)
    assert new["skip.weight"].reshape(-1).tolist() == [j in cols for j in range(3)]
    assert choice.bic < choice.linear_only_bic


def test_a_redundant_unit_goes_and_its_weights_are_zero():
    # y linear in x1; a weak unit on x0 does not pay for its 2 weights
    net, masks, x, y, groups = _setup(lambda x: 0.4 * x[:, 1], [0.1, 0.0, 0.0], 0.2)
    new, choice = _choose(net, masks, x, y, groups)
    assert choice.removed == ("unit",)
    assert choice.linear_inputs == (1,)
    assert not new["a.weight"].any() and net.a.weight.abs().sum().item() == 0.0
    assert choice.bic == pytest.approx(choice.linear_only_bic)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"linear": "nope"}, ValueError, "no parameter named 'nope'"),
        ({"level": "a.weight"}, ValueError, "must have one entry"),
        ({"max_exhaustive": -1}, ValueError, "max_exhaustive must be >= 0"),
        ({"max_exhaustive": 2.5}, TypeError, "max_exhaustive must be an integer"),
        ({"groups": [("bad", {"skip.weight": None})]}, ValueError, "touches the linear path"),
        ({"groups": [("bad", {"ghost": None})]}, ValueError, "without a mask"),
        ({"x": torch.zeros(10, 2)}, ValueError, "x must be"),
        ({"x": torch.zeros(600, 2)}, ValueError, "x has 2 columns"),
        ({"x": torch.zeros(3, 3), "y": torch.zeros(3)}, ValueError, "at least 5 are needed"),
        (
            {"x": torch.zeros(2, 3), "y": torch.zeros(2), "max_exhaustive": 0},
            ValueError,
            "at least 3 are needed",
        ),
        ({"gamma": -1.0}, ValueError, "gamma must be a finite number >= 0"),
        ({"gamma": float("nan")}, ValueError, "gamma must be"),
    ],
)
def test_choose_linear_path_bad_input(kwargs, error, match):
    net, masks, x, y, groups = _setup(lambda x: x[:, 0], [1.0, 0.0, 0.0], 1.0)
    args = dict(
        x=x,
        y=y,
        predict=lambda m: m(x),
        linear="skip.weight",
        level="v.bias",
        groups=groups,
    )
    args.update(kwargs)
    with pytest.raises(error, match=match):
        choose_linear_path(net, masks, **args)


# ---------------------------------------------------------------- seasonal default lags
@pytest.mark.parametrize(
    ("freq", "period"),
    [
        ("MS", 12),
        ("ME", 12),
        ("M", 12),
        ("QS", 4),
        ("Q-DEC", 4),
        ("W-SUN", 52),
        ("D", 7),
        ("B", 5),
        ("h", 24),
        ("30min", 48),
        ("15min", 96),
        ("2MS", 6),
        ("YS", None),
        ("7min", None),
        (None, None),
    ],
)
def test_seasonal_period(freq, period):
    assert seasonal_period(freq) == period


def test_default_lags_rule():
    assert default_lags(240, "MS") == 13
    assert default_lags(64, "MS") == 10  # 5 * 13 > 64: no seasonal lags; n // 5 = 12 does not bind
    assert default_lags(65, "MS") == 13  # 5 * 13 = 65: the cycle and one step past it
    assert default_lags(2000, "30min") == 49
    assert default_lags(200, "30min") == 10  # too short for a day of half-hours
    assert default_lags(1000, None) == 10
    assert default_lags(40, None) == 8


def _monthly(n=240, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 3 * np.sin(2 * np.pi * t / 12) + rng.normal(size=n)
    return pd.Series(y, index=pd.date_range("2000-01-01", periods=n, freq="MS"))


def test_auto_lags_reach_the_seasonal_lag_and_an_explicit_lags_wins():
    y = _monthly()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = SparseRNN(hidden_size=2, n_epochs=30, n_restarts=1, random_state=0).fit(y)
        fixed = SparseRNN(lags=5, hidden_size=2, n_epochs=30, n_restarts=1, random_state=0)
        fixed.fit(y)
    assert auto.get_params()["lags"] == "auto"
    assert auto.lags_ == 13 and auto.inclusion_probabilities_.shape == (13,)
    assert fixed.lags_ == 5
    # the seasonal lag carries the sine: the linear search cannot miss it
    assert 12 in auto.selected_lags_ or {1, 2} <= set(auto.selected_lags_)
    text = str(auto.summary())
    assert "Linear-only BIC" in text and "Network weights" in text


def test_selection_matches_global_bic_where_the_threshold_alone_missed():
    # vignette 02's linear design, n = 500, replicate 0: the prior's threshold alone kept
    # only lag 1 (BENCHMARKS.md, "Lag selection power"); statsmodels' global BIC finds
    # {1, 3, 7}. The linear path chosen by BIC must find it as well.
    n, rep = 500, 0
    y = make_ar(n, random_state=np.random.default_rng([0, rep, n]))
    sm = ar_select_order(y, maxlag=10, ic="bic", glob=True).ar_lags
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SparseRNN(lags=10, n_restarts=1, random_state=rep).fit(y)
    assert list(sm) == [1, 3, 7]
    assert m.selected_lags_.tolist() == [1, 3, 7]
    assert m.n_network_weights_ == 0  # a linear AR: the network part did not pay
    assert m.bic_ == pytest.approx(m.linear_only_bic_, abs=2.0)
    assert m.linear_only_lags_.tolist() == [1, 3, 7]


def test_a_linear_only_fit_is_the_global_bic_autoreg():
    # vignette 02's linear design, n = 200, replicate 4: on the windows' scored points
    # alone (they leave out a burn-in of 4 more points) the subset BIC chose {1, 3}.
    # Once the network is removed, bsdl's lags are re-chosen on statsmodels' sample
    # (t = lags .. n-1) and fitted by least squares from the largest lag on: the same lags
    # as the global BIC search and the same one-step predictions as AutoReg at them.
    n, rep = 200, 4
    y = make_ar(n, random_state=np.random.default_rng([0, rep, n]))
    sm = list(ar_select_order(y, maxlag=10, ic="bic", glob=True).ar_lags)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SparseRNN(lags=10, n_restarts=1, random_state=rep).fit(y)
    assert m.n_network_weights_ == 0
    assert sm == [1, 3, 7] and m.selected_lags_.tolist() == sm
    ar = AutoReg(y, lags=sm, trend="c").fit()
    bsdl = m.predict_interval(series=y).to_frame()["mean"]
    expected = ar.predict(start=int(bsdl.index[0]), end=n - 1)
    np.testing.assert_allclose(bsdl.to_numpy(), np.asarray(expected), rtol=0, atol=1e-5)


def test_selected_sample_starts_at_the_largest_selected_lag():
    from bsdl.models._lag_selection import _selected_sample, linear_sample

    g = torch.Generator().manual_seed(0)
    z, x = torch.randn(20, generator=g), torch.randn(20, 2, generator=g)
    lags = 3
    # columns: series lag 2, regressor 0 at lag 0, regressor 1 at lag 2
    design, target = _selected_sample(z, x, lags, [1, 3, 8])
    t = np.arange(2, 20)
    expected = np.column_stack([z[t - 2], x[t, 0], x[t - 2, 1]])
    np.testing.assert_array_equal(design.numpy(), expected)
    np.testing.assert_array_equal(target.numpy(), z[t].numpy())
    # the full lag vectors of linear_sample hold the same columns from t = lags on
    feats, tgt = linear_sample(z, x, lags)
    np.testing.assert_array_equal(feats[:, [1, 3, 8]].numpy(), expected[1:])
    np.testing.assert_array_equal(tgt.numpy(), z[3:].numpy())


def test_drop_memory_removes_the_recurrence_only():
    from bsdl.models._lag_selection import drop_memory
    from bsdl.nn import LagRNN
    from bsdl.sparsify import get_masks

    net = LagRNN(3, hidden_size=2, cell="rnn")
    masks = get_masks(net)
    out = drop_memory(net, masks)
    rec = "recurrent_layers.0.weight"
    assert not out[rec].any()
    assert all(out[k].all() for k in out if k != rec)
    assert masks[rec].all()  # the input masks are not modified
    assert drop_memory(net, out) is None  # nothing left to drop


def test_a_restart_keeps_the_memoryless_fit_when_the_criterion_prefers_it(monkeypatch):
    # FitSpec.alternative: the same seed is fitted again with the recurrence held at 0
    # from the start; with a criterion that always prefers fewer weights, the memoryless
    # fit must be the one kept, and its recurrence must be exactly 0.
    import bsdl.models.sequence as seq
    from bsdl.sparsify import count_nonzero

    # An MA(1) series seen through one lag: its AR(infinity) form rewards memory, and
    # without the alternative this fit keeps recurrent weights (checked below).
    rng = np.random.default_rng(0)
    e = rng.standard_normal(601)
    y = e[1:] + 0.9 * e[:-1]
    kwargs = dict(lags=1, hidden_size=3, n_epochs=30, n_restarts=1, random_state=0)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SparseRNN(**kwargs).fit(y)

    monkeypatch.setattr(seq, "drop_memory", lambda module, masks: None)
    assert fit().module_.recurrent_layers[0].weight.abs().sum().item() > 0.1
    monkeypatch.undo()
    monkeypatch.setattr(seq, "bic_of", lambda mse, n, module: float(count_nonzero(module)))
    m = fit()
    assert m.cell_ == "rnn"
    assert m.module_.recurrent_layers[0].weight.abs().sum().item() == 0.0
    # and with the real BIC the memory pays on this series: the recurrent fit is kept
    monkeypatch.undo()
    assert fit().module_.recurrent_layers[0].weight.abs().sum().item() > 0.1
