"""The sparse MLP's linear path (``SparseMLPRegressor(skip=True)``, issue 14 deliverable 6)
and the extended BIC that chooses it (``bsdl.sparsify.linear_path`` with ``gamma > 0``).

Independent answers: statsmodels' OLS log-likelihood for the criterion and the fitted
values, a naive add-or-drop search written with explicit designs for the greedy moves.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
import torch

from bsdl import SparseMLPRegressor, load
from bsdl.sparsify import linear_path_bic


def _ebic_statsmodels(x, y, cols, gamma):
    """EBIC from statsmodels' OLS, up to the constant n (1 + log 2 pi) that linear_path_bic
    leaves out: -2 llf + (|S| + 1) log n + 2 gamma log C(p, |S|)."""
    n, p = x.shape
    fit = sm.OLS(y, sm.add_constant(x[:, list(cols)], has_constant="add")).fit()
    ebic = (
        -2 * fit.llf + (len(cols) + 1) * math.log(n) + 2 * gamma * math.log(math.comb(p, len(cols)))
    )
    return ebic - n * (1 + math.log(2 * math.pi))


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0])
def test_extended_bic_matches_statsmodels_over_all_subsets(gamma):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(120, 8))
    y = 1.0 + 0.35 * x[:, 1] - 0.3 * x[:, 5] + 0.2 * x[:, 6] + rng.normal(size=120)
    bic, cols = linear_path_bic(x, y, gamma=gamma)
    every = {
        s: _ebic_statsmodels(x, y, s, gamma)
        for r in range(9)
        for s in itertools.combinations(range(8), r)
    }
    best = min(every, key=every.get)
    assert cols == best
    assert bic == pytest.approx(every[best], abs=1e-6)
    # the extended term only ever removes columns: a larger gamma never selects more
    assert len(linear_path_bic(x, y, gamma=gamma + 1.0)[1]) <= len(cols)


def _naive_greedy(x, y, gamma):
    """Add-or-drop moves from the empty set, each candidate fitted from its own design."""
    n, p = x.shape
    current = ()
    score = _ebic_statsmodels(x, y, current, gamma)
    while True:
        moves = [tuple(sorted(set(current) ^ {j})) for j in range(p)]
        moves = [m for m in moves if len(m) + 2 < n]
        cand = min(moves, key=lambda m: _ebic_statsmodels(x, y, m, gamma))
        cand_score = _ebic_statsmodels(x, y, cand, gamma)
        if cand_score >= score:
            return score, current
        score, current = cand_score, cand


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_moves_match_a_naive_search_with_more_inputs_than_rows(seed):
    # p = 60 > n = 40: the greedy search (rank-one updates of the RSS for every candidate
    # at once) against a naive one that fits each candidate's own design
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 60))
    y = 1.5 * x[:, 3] - 1.0 * x[:, 17] + 0.3 * rng.normal(size=40)
    bic, cols = linear_path_bic(x, y, gamma=1.0)
    naive_bic, naive_cols = _naive_greedy(x, y, 1.0)
    assert cols == naive_cols
    assert bic == pytest.approx(naive_bic, abs=1e-6)
    assert {3, 17} <= set(cols)


def test_extended_bic_keeps_noise_inputs_out_where_bic_lets_them_in():
    # 400 pure-noise inputs, n = 200: BIC's log n = 5.3 per input is below the largest of
    # 400 chi-square(1) gains (about 2 log 400 = 12), so plain BIC adds noise; gamma = 1
    # adds 2 log(400 / k) more per input. One fixed seed.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 400))
    y = x[:, 0] + rng.normal(size=200)
    assert linear_path_bic(x, y, gamma=1.0)[1] == (0,)
    assert len(linear_path_bic(x, y, gamma=0.0)[1]) > 1


# ------------------------------------------------------------------ the estimator
def _quiet(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.fixture(scope="module")
def linear_data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 6))
    y = 3.0 + 0.8 * X[:, 0] - 0.6 * X[:, 2] + rng.normal(size=400)
    return X, y


@pytest.fixture(scope="module")
def linear_fit(linear_data):
    X, y = linear_data
    return _quiet(SparseMLPRegressor((8,), n_epochs=60, random_state=0), *linear_data)


def test_linear_data_gives_ordinary_least_squares(linear_fit, linear_data):
    # with a linear truth the network is removed and the linear path is fitted exactly:
    # the fitted values are statsmodels' OLS on the chosen inputs, and those inputs are the
    # extended-BIC choice over all 2^6 subsets computed by statsmodels
    X, y = linear_data
    m = linear_fit
    assert not m.mask_["linears.0.weight"].any()
    cols = tuple(int(j) for j in m.selected_features_)
    xs = (X - X.mean(0)) / X.std(0)
    every = {
        s: _ebic_statsmodels(xs, y, s, 1.0)
        for r in range(7)
        for s in itertools.combinations(range(6), r)
    }
    assert cols == min(every, key=every.get) == (0, 2)
    ols = sm.OLS(y, sm.add_constant(X[:, list(cols)])).fit()
    np.testing.assert_allclose(m.predict(X), ols.fittedvalues, atol=1e-4)


def test_summary_and_round_trip(linear_fit, linear_data, tmp_path):
    X, _ = linear_data
    text = str(linear_fit.summary())
    assert "Linear-path inputs:" in text
    path = linear_fit.save(tmp_path / "m.bsdl")
    back = load(path)
    assert back.skip_ is True
    np.testing.assert_allclose(back.predict(X[:20]), linear_fit.predict(X[:20]))
    np.testing.assert_allclose(
        back.predict_interval(X[:5]).lower, linear_fit.predict_interval(X[:5]).lower
    )


def test_linear_input_beside_a_nonlinear_one_is_on_the_linear_path():
    # a linear effect beside a nonlinear one among many noise inputs (n = 300, p = 150):
    # the linear path keeps the linear input and no noise input
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 150))
    y = 2.0 * np.tanh(X[:, 0]) * X[:, 1] + 0.6 * X[:, 7] + rng.normal(size=300)
    m = _quiet(SparseMLPRegressor((8,), n_epochs=80, random_state=1), X, y)
    assert 7 in m.selected_features_
    assert m.mask_["skip.weight"][0, 7]
    # extended BIC: no noise input on the linear path
    linear = set(np.flatnonzero(m.mask_["skip.weight"].any(0)).tolist())
    assert linear <= {0, 1, 7}


def test_skip_false_has_no_linear_path(linear_data):
    m = _quiet(SparseMLPRegressor((4,), n_epochs=20, skip=False, random_state=0), *linear_data)
    assert m.skip_ is False and "skip.weight" not in m.mask_
    assert m.module_.skip is None
    assert "Linear-path inputs:" not in str(m.summary())


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_skip_must_be_boolean(linear_data, bad):
    with pytest.raises((TypeError, ValueError), match="skip"):
        SparseMLPRegressor(skip=bad).fit(*linear_data)


def test_skip_changes_nothing_in_the_global_rng(linear_data):
    state = torch.random.get_rng_state()
    _quiet(SparseMLPRegressor((4,), n_epochs=10, random_state=0), *linear_data)
    assert torch.equal(state, torch.random.get_rng_state())
