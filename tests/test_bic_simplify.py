"""bic_simplify: weight groups whose removal lowers BIC are removed, real effects stay."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bsdl import SparseRNN
from bsdl.datasets import make_ar
from bsdl.nn import LagRNN
from bsdl.sparsify import bic_simplify, simplify_with_bic

N = 4000


def _net_and_data(nonlinear_signal: bool, seed: int = 0):
    """A hand-set tanh-RNN (window 1): skip weight 0.5 on input 0; unit 0 reads input 2.

    With ``nonlinear_signal`` the target contains the unit's function tanh(2 x2) (weight 1 in
    the read-out); otherwise the unit adds a spurious 0.05 tanh(2 x2) that the data do not
    support, and input 1 has a spurious skip weight 0.01.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, 1, 3, generator=g)
    noise = torch.randn(N, 1, generator=g)
    signal = 0.5 * x[:, :, 0] + (torch.tanh(2 * x[:, :, 2]) if nonlinear_signal else 0.0)
    y = signal + noise
    net = LagRNN(3, hidden_size=2, cell="rnn", skip=True)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.skip.weight[0, 0] = 0.5
        net.input_layers[0].weight[0, 2] = 2.0
        if nonlinear_signal:
            net.head.weight[0, 0] = 1.0
        else:
            net.head.weight[0, 0] = 0.05
            net.skip.weight[0, 1] = 0.01
    masks = {name: p != 0 for name, p in net.named_parameters()}

    def mse(module):
        return (module(x)[:, -1:] - y).pow(2).mean()

    return net, masks, mse


def test_unsupported_unit_and_input_are_removed():
    net, masks, mse = _net_and_data(nonlinear_signal=False)
    with torch.no_grad():
        before = float(mse(net))
    masks, removed = bic_simplify(net, masks, net.prunable_groups(), mse, N)
    # the spurious unit (2 weights) and the 0.01 skip weight each gain less than
    # log(N)/2 = 4.1 nats per weight of likelihood, so BIC drops them; input 0 (t ~ 32) stays
    assert set(removed) == {"unit 0.0", "input 1"}
    assert masks["skip.weight"][0].tolist() == [True, False, False]
    assert not masks["head.weight"].any() and not masks["input_layers.0.weight"].any()
    # BIC went down: N log(mse ratio) < k log N for the removed weights
    with torch.no_grad():
        after = float(mse(net))
    assert N * math.log(after / before) < 3 * math.log(N)


def test_supported_nonlinear_unit_is_kept():
    net, masks, mse = _net_and_data(nonlinear_signal=True)
    masks, removed = bic_simplify(net, masks, net.prunable_groups(), mse, N)
    assert removed == []
    assert masks["head.weight"][0, 0] and masks["input_layers.0.weight"][0, 2]


def test_groups_cover_units_and_inputs():
    net = LagRNN(4, hidden_size=3, num_layers=2, cell="lstm", skip=True)
    groups = dict(net.prunable_groups())
    assert len(groups) == 2 * 3 + 4
    unit = groups["unit 1.2"]
    assert unit["head.weight"][0, 2] and unit["input_layers.1.weight"][2::3].all()
    assert unit["recurrent_layers.1.weight"][:, 2].all()
    lag = groups["input 3"]
    assert lag["input_layers.0.weight"][:, 3].all() and lag["skip.weight"][0, 3]
    assert not lag["input_layers.0.weight"][:, :3].any()


def test_simplify_with_bic_returns_consistent_masks():
    net, masks, mse = _net_and_data(nonlinear_signal=False)
    out = simplify_with_bic(net, masks, mse=mse, n=N)
    for name, p in net.named_parameters():
        assert torch.all(p[~out[name]] == 0)


def test_sparse_rnn_prune_bic_is_reproducible_and_checked():
    y = make_ar(400, {1: 0.6, 2: -0.3}, random_state=0)
    kw = dict(lags=4, window=4, n_epochs=40, random_state=0, prune="bic")
    a = SparseRNN(**kw).fit(y)
    b = SparseRNN(**kw).fit(y)
    np.testing.assert_array_equal(a.selected_lags_, b.selected_lags_)
    assert a.bic_ == b.bic_
    with pytest.raises(ValueError, match="prune"):
        SparseRNN(prune="aic").fit(y)
