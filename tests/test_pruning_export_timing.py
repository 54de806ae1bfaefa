"""Export's measured rule (bsdl.pruning.export_timing.fastest): interleaved rounds and medians
pick the faster of two candidates whose speeds differ clearly, also inside export. The slow
candidates are deliberately slowed by a sleep of 1 ms per call (a sleep lasts at least that
long whatever the load), against forwards of a tiny model that take tens of microseconds, so
the outcome does not depend on the machine's speed; no timing of a real kernel is asserted."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from bsdl.pruning import export
from bsdl.pruning import export_fused as ef
from bsdl.pruning.export_timing import fastest
from bsdl.pruning.sparse_kernels import available_formats
from bsdl.pruning.sparse_linear import PrunedLinear

SLOW = 0.001  # seconds added to each call of a slowed candidate


def test_fastest_names_the_faster_whatever_the_order():
    calls = {"fast": 0, "slow": 0}

    def fast():
        calls["fast"] += 1

    def slow():
        calls["slow"] += 1
        time.sleep(SLOW)

    for order in (("fast", "slow"), ("slow", "fast")):
        fns = {"fast": fast, "slow": slow}
        best, seconds = fastest({k: fns[k] for k in order}, rounds=5, min_seconds=0.002)
        assert best == "fast"
        assert list(seconds) == list(order)
        assert seconds["slow"] >= SLOW > seconds["fast"]
    # warm-up and calibration come before the rounds; a fast candidate is called many
    # times per round (blocks of at least min_seconds)
    assert calls["fast"] > 5 * calls["slow"]


def test_fastest_rejects_nothing_to_time():
    with pytest.raises(ValueError, match="candidates"):
        fastest({})
    with pytest.raises(ValueError, match="rounds"):
        fastest({"a": lambda: None}, rounds=0)


@pytest.mark.parametrize("keep", ["dense", "scipy"])
def test_export_keeps_the_one_format_not_slowed(monkeypatch, keep):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8)).eval()
    with torch.no_grad():
        for lin in (net[0], net[2]):
            lin.weight.mul_(torch.rand(lin.weight.shape) > 0.9)
    plain = PrunedLinear.forward

    def forward(self, x):
        if self.format != keep:
            time.sleep(SLOW)
        return plain(self, x)

    def fused_forward(self, x):
        time.sleep(SLOW)
        return fused_plain(self, x)

    fused_plain = ef.FusedSparseStack.forward
    monkeypatch.setattr(PrunedLinear, "forward", forward)
    monkeypatch.setattr(ef.FusedSparseStack, "forward", fused_forward)
    small = export(net, csr="auto")
    assert [r["format"] for r in small.report.layers] == [keep, keep]
    for row in small.report.layers:
        assert min(row["seconds"], key=row["seconds"].get) == keep
        assert set(row["seconds"]) == {"dense", *available_formats()}
    stack = small.report.layers[0]["stack_seconds"]
    # the layers as chosen: both in the fast format; the dense stack is slowed unless it is
    # that format (then it is the same stack as the layers), the fused stack always
    kept = min(set(stack) - {"original"}, key=stack.get)
    assert kept in ({"dense", "layers"} if keep == "dense" else {"layers"})
    with torch.no_grad():
        x = torch.randn(3, 16)
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)


def test_export_picks_the_faster_lstm_candidate(monkeypatch):
    torch.manual_seed(1)
    lstm = nn.LSTM(4, 8)
    with torch.no_grad():
        lstm.weight_hh_l0.mul_(torch.rand(lstm.weight_hh_l0.shape) > 0.8)
    model = nn.Module()
    model.lstm = lstm
    plain = nn.LSTM.forward

    def slow_lstm(self, *args, **kwargs):  # dense nn.LSTM slowed: a sparse format wins
        time.sleep(SLOW)
        return plain(self, *args, **kwargs)

    monkeypatch.setattr(nn.LSTM, "forward", slow_lstm)
    small = export(model, csr="auto")
    (row,) = small.report.layers
    assert row["format"] != "dense"
    assert row["seconds"]["dense"] > SLOW
    assert small.report.speedup > 1
