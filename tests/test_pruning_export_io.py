"""Saving and loading exported models beyond Linear stacks: an LSTM language model (embedding,
two LSTM layers, a linear decoder), structurally pruned models (units removed) and pruned
attention heads; smaller files than the dense state dict; tampered files are refused."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from bsdl.pruning import export, load_exported
from bsdl.pruning.export_fused import fused_available
from bsdl.pruning.export_structured import PrunedMultiheadAttention

FUSED = ["fused"] if fused_available() else []


class WordLM(nn.Module):
    """The shape of bench/ptb_lstm.py's WordLSTM: embedding, two LSTMs, dropout, decoder."""

    def __init__(self, vocab=40, emb=12, hidden=24):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.lstm1 = nn.LSTM(emb, hidden, batch_first=True)
        self.lstm2 = nn.LSTM(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(0.3)
        self.decoder = nn.Sequential(nn.Linear(hidden, vocab))

    def forward(self, x, state=None):
        s1, s2 = (None, None) if state is None else state
        h, s1 = self.lstm1(self.drop(self.embedding(x)), s1)
        h, s2 = self.lstm2(self.drop(h), s2)
        return self.decoder(self.drop(h)), (s1, s2)


def magnitude_prune_(model: nn.Module, sparsity: float, skip=("embedding",)) -> None:
    """Zero the smallest ``sparsity`` share of every 2-D weight outside ``skip``."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and not name.startswith(skip):
                k = int(round(sparsity * p.numel()))
                p.view(-1)[torch.topk(p.abs().reshape(-1), k, largest=False).indices] = 0


def dense_file_size(model: nn.Module, path) -> int:
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    return path.stat().st_size


def rewrite(path, out, spec=None, tensors=None, raw_spec=None):
    """A copy of an exported file with its structure and/or tensors changed."""
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        stored = {k: f.get_tensor(k) for k in f.keys()}
    if spec is not None:
        meta["spec"] = json.dumps(spec(json.loads(meta["spec"])))
    if raw_spec is not None:
        meta["spec"] = raw_spec
    if tensors is not None:
        stored = tensors(stored)
    save_file(stored, str(out), metadata=meta)
    return out


@pytest.fixture(scope="module")
def lm():
    torch.manual_seed(0)
    model = WordLM().eval()
    magnitude_prune_(model, 0.9)
    return model


@pytest.mark.parametrize("csr", ["auto", "never", "csr", *FUSED])
def test_lstm_language_model_round_trip(lm, csr, tmp_path):
    small = export(lm, csr=csr)
    x = torch.randint(0, 40, (3, 9))
    with torch.no_grad():
        torch.testing.assert_close(small(x)[0], lm(x)[0], rtol=1e-5, atol=1e-5)
    path = tmp_path / "lm.safetensors"
    size = small.save(path)
    # 90 % of the LSTM and decoder weights pruned: CSR holds 8 bytes per kept weight, so
    # the file is well under half of the dense one (the embedding stays dense); csr="never"
    # keeps the LSTMs as nn.LSTM, but the file still stores their weights in CSR
    assert size < 0.5 * dense_file_size(lm, tmp_path / "dense.safetensors")
    with pytest.raises(TypeError, match="WordLM.*template"):
        load_exported(path)
    back = load_exported(path, template=WordLM())
    assert [type(m).__name__ for m in (back.module.lstm1, back.module.lstm2)] == [
        type(m).__name__ for m in (small.module.lstm1, small.module.lstm2)
    ]
    state = ((torch.randn(1, 3, 24), torch.randn(1, 3, 24)),) * 2
    with torch.no_grad():
        for args in ((x,), (x, state)):
            out_small, (s1, s2) = small(*args)
            out_back, (b1, b2) = back(*args)
            torch.testing.assert_close(out_back, out_small, rtol=1e-6, atol=1e-6)
            for a, b in zip((*s1, *s2), (*b1, *b2)):
                torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-6)


class Units(nn.Module):
    """Linear layers outside a Sequential and an LSTM, linked for structured pruning."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 16)
        self.lstm = nn.LSTM(16, 20, batch_first=True)
        self.head = nn.Linear(20, 2)

    def forward(self, x):
        return self.head(self.lstm(self.fc2(torch.relu(self.fc1(x))))[0])


@pytest.mark.parametrize("csr", ["auto", "never"])
def test_structurally_pruned_model_round_trip(csr, tmp_path):
    torch.manual_seed(1)
    model = Units().eval()
    with torch.no_grad():  # half the units of fc1 and of the LSTM feed nothing
        model.fc2.weight[:, 16:] = 0
        model.head.weight[:, :10] = 0
        model.lstm.weight_hh_l0[:, :10] = 0
    small = export(model, csr=csr, links={"fc1": "fc2", "lstm": "head"})
    assert small.module.fc1.out_features == 16 and small.module.lstm.hidden_size == 10
    path = tmp_path / "units.safetensors"
    size = small.save(path)
    assert size < 0.7 * dense_file_size(model, tmp_path / "dense.safetensors")
    back = load_exported(path, template=Units())
    assert back.module.head.in_features == 10
    x = torch.randn(4, 6, 10)
    with torch.no_grad():
        torch.testing.assert_close(back(x), model(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(back(x), small(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("prune_head", [True, False])
def test_pruned_heads_round_trip(tmp_path, prune_head):
    torch.manual_seed(2)
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True).eval()
    if prune_head:
        with torch.no_grad():
            layer.self_attn.out_proj.weight[:, 4:8] = 0  # head 1 writes nothing
    small = export(layer, csr="never")
    kind = PrunedMultiheadAttention if prune_head else nn.MultiheadAttention
    assert type(small.module.self_attn) is kind
    path = tmp_path / "heads.safetensors"
    small.save(path)
    back = load_exported(path, template=nn.TransformerEncoderLayer(16, 4, 32, batch_first=True))
    assert type(back.module.self_attn) is kind
    assert back.module.self_attn.num_heads == (3 if prune_head else 4)
    x = torch.randn(2, 5, 16)
    with torch.no_grad():
        torch.testing.assert_close(back(x), layer(x), rtol=1e-5, atol=1e-5)


def _edit_lstm(spec):
    spec["children"] = [[n, c] for n, c in spec["children"]]
    lstm = dict(spec["children"])["lstm1"]
    key = "hidden_size" if "hidden_size" in lstm else "kwargs"
    if key == "kwargs":
        lstm["kwargs"]["hidden_size"] = 1000
    else:
        lstm["hidden_size"] = 1000
    return spec


def _bad_col(tensors):
    name = next(k for k in tensors if k.endswith("col_indices"))
    tensors[name] = tensors[name].clone()
    tensors[name][0] = 10**6
    return tensors


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(spec=_edit_lstm), "shape|fit"),
        (dict(raw_spec="{not json"), "do not fit"),
        (dict(spec=lambda s: {**s, "children": s["children"][:-1]}), "children"),
        (dict(spec=lambda s: {**s, "type": "Pickle"}), "unknown layer type"),
        (dict(tensors=lambda t: {**t, "extra": torch.zeros(3)}), "does not name"),
        (dict(tensors=lambda t: {k: v for k, v in t.items() if "embedding" not in k}), "lacks"),
        (dict(tensors=_bad_col), "fit"),
    ],
)
def test_tampered_files_are_refused(lm, change, message, tmp_path):
    path = tmp_path / "lm.safetensors"
    export(lm, csr="csr").save(path)
    bad = rewrite(path, tmp_path / "bad.safetensors", **change)
    with pytest.raises(ValueError, match=message):  # ModelFileError is a ValueError
        load_exported(bad, template=WordLM())


@pytest.mark.skipif(not FUSED, reason="numba is not installed")
def test_fused_modules_load_without_numba(lm, tmp_path, monkeypatch):
    """A file with fused modules, read where numba is missing: torch CSR layers instead."""
    small = export(lm, csr="fused")
    path = tmp_path / "lm.safetensors"
    small.save(path)
    import sys

    rule = sys.modules["bsdl.pruning.export_timing"]  # the attribute is the function
    export_io = sys.modules["bsdl.pruning.export_io"]

    monkeypatch.setattr(export_io, "fused_available", lambda *a: False)
    monkeypatch.setattr(rule, "fused_available", lambda *a: False)
    back = load_exported(path, template=WordLM())
    assert type(back.module.lstm1).__name__ == "PrunedLSTM"
    assert [type(m).__name__ for m in back.module.decoder] == ["Sequential"]
    x = torch.randint(0, 40, (2, 5))
    with torch.no_grad():
        torch.testing.assert_close(back(x)[0], small(x)[0], rtol=1e-5, atol=1e-5)
    auto = export(lm, csr="auto")  # and export offers no fused candidate
    assert all(r["format"] != "fused" for r in auto.report.layers)
