"""bsdl.pruning.export: dead units and inputs removed, CSR where asked or measured faster, the
masked model's outputs kept, save/load with safetensors and a smaller file."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from bsdl.exceptions import ModelFileError
from bsdl.pruning import GMP, ExportedModel, export, load_exported
from bsdl.pruning.export_fused import FusedSparseLSTM, FusedSparseStack, fused_available
from bsdl.pruning.sparse_kernels import available_formats
from bsdl.pruning.sparse_linear import PrunedLinear

FUSED = ["fused"] if fused_available() else []


def pruned_mlp(sparsity=0.9, seed=0):
    """A 3-layer MLP pruned by GMP (head included) on a small regression task."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 3)
    )
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(256, 20, generator=g)
    y = X[:, :3] * 2.0
    pruner = GMP(net, sparsity, 120, final_warmup=40, pruning_interval=5, exclude_head=False)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(120):
        opt.zero_grad()
        (net(X) - y).pow(2).mean().backward()
        pruner.before_step()
        opt.step()
        pruner.after_step()
    return net


@pytest.fixture(scope="module")
def net():
    return pruned_mlp()


@pytest.mark.parametrize("csr", ["never", "always", "auto", *available_formats(), *FUSED])
def test_outputs_match_the_masked_model(net, csr):
    original = copy.deepcopy(net.state_dict())
    small = export(net, csr=csr)
    x = torch.randn(5, 7, 20, generator=torch.Generator().manual_seed(1))  # any leading dims
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-5, atol=1e-5)
    for k, v in net.state_dict().items():  # the user's model is untouched
        assert torch.equal(v, original[k])
    formats = {row["format"] for row in small.report.layers}
    if csr != "auto":
        assert formats == {"csr" if csr == "always" else "dense" if csr == "never" else csr}
    stored = sum(
        m.nnz if m.sparse else m.weight.numel()
        for m in small.modules()
        if isinstance(m, PrunedLinear)
    )
    biases = sum(m.bias.numel() for m in small.modules() if isinstance(m, PrunedLinear))
    for m in small.modules():  # the fused stack: kept weights and every layer's bias
        if isinstance(m, FusedSparseStack):
            stored += m.nnz
            biases += m.bias.numel()
    assert small.report.params_after == stored + biases
    assert small.report.params_before == sum(p.numel() for p in net.parameters())
    # the non-zero numbers do not depend on the format kept: those of the dense export
    # (the same shapes, every matrix stored with its zeros), counted here
    dense = export(net, csr="never")
    nonzero = sum(
        int(torch.count_nonzero(t)) for t in dense.state_dict().values() if t.is_floating_point()
    )
    assert small.report.nonzero_after == nonzero < small.report.params_before


def test_auto_keeps_the_measured_faster_format(net):
    small = export(net, csr="auto")
    stack = small.report.layers[0]["stack_seconds"]
    # the whole stack: as it came (a reference), dense, its layers as chosen one by one,
    # fused (with numba)
    assert set(stack) == {"original", "dense", "layers", *FUSED}
    kept = min(set(stack) - {"original"}, key=stack.get)
    for row in small.report.layers:
        assert row["dense_seconds"] > 0 and row["csr_seconds"] > 0
        assert set(row["seconds"]) == {"dense", *available_formats()}
        assert row["stack_seconds"] == stack
        if kept == "layers":
            assert row["format"] == min(row["seconds"], key=row["seconds"].get)
        else:
            assert row["format"] == kept
    (timed,) = small.report.timed
    assert timed["kind"] == "stack" and timed["name"] == "0-4"
    assert timed["dense_seconds"] == stack["original"] and timed["seconds"] == stack[kept]
    assert small.report.speedup == pytest.approx(stack["original"] / stack[kept])
    assert "measured speed-up" in str(small.report)
    assert export(net, csr="never").report.speedup is None


def test_dead_units_and_inputs_are_removed_and_constants_folded():
    torch.manual_seed(2)
    net = nn.Sequential(
        nn.Linear(5, 6), nn.Sigmoid(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 2)
    ).eval()
    with torch.no_grad():
        net[0].weight[:, 4] = 0  # input 4 is never read
        net[0].weight[1] = 0  # hidden unit 1 of layer 0: constant sigmoid(b) -> folded
        net[2].weight[:, 3] = 0  # hidden unit 3 of layer 0 feeds nothing
        net[4].weight[:, 2] = 0  # unit 2 of layer 2 feeds nothing ...
        net[2].weight[0] = 0  # ... and unit 0 of layer 2 is constant relu(b)
    small = export(net, csr="never")
    shapes = [row["shape_after"] for row in small.report.layers]
    assert shapes == [[4, 4], [2, 4], [2, 2]]
    assert small.module[0].input_index.tolist() == [0, 1, 2, 3]
    x = torch.randn(9, 5)
    with torch.no_grad():
        torch.testing.assert_close(small(x), net(x), rtol=1e-6, atol=1e-6)


def test_a_cascade_of_dead_units_leaves_a_constant():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        net[2].weight.zero_()  # nothing reaches the output: it is the last bias
    small = export(net, csr="never")
    assert [row["shape_after"] for row in small.report.layers] == [[0, 0], [2, 0]]
    x = torch.randn(3, 3)
    torch.testing.assert_close(small(x), net[2].bias.detach().expand(3, 2))


def formats(model):
    """The format of each exported Linear, in order (a fused stack counts for its layers)."""
    out = []
    for m in model.modules():
        if isinstance(m, PrunedLinear):
            out.append(m.format)
        elif isinstance(m, FusedSparseStack):
            out += ["fused"] * (len(m.widths) - 1)
    return out


@pytest.mark.parametrize("csr", ["auto", "always", *FUSED])
def test_save_load_round_trip_and_smaller_file(net, tmp_path, csr):
    small = export(net, csr=csr)
    path = tmp_path / "small.safetensors"
    size = small.save(path)
    dense_path = tmp_path / "dense.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(dense_path))
    # 90 % of the weights pruned: CSR stores 8 bytes per kept weight instead of 4 per weight,
    # about 0.2 of the dense bytes, plus row pointers, biases and the structure as JSON; the
    # report in the header (timings with csr="auto") is not counted
    report_bytes = len(json.dumps(small.report.to_dict()))
    assert size - report_bytes < 0.35 * dense_path.stat().st_size
    back = load_exported(path)
    assert isinstance(back, ExportedModel)
    x = torch.randn(4, 20)
    with torch.no_grad():
        assert torch.equal(back(x), small(x))
    assert formats(back) == [row["format"] for row in small.report.layers]


def test_other_modules_save_and_load_with_a_template(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 8, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
            self.scale = 2.0

        def forward(self, x):
            return self.scale * self.mlp(self.rnn(x)[0])

    torch.manual_seed(3)
    model = Net()
    with torch.no_grad():
        model.mlp[0].weight[:4] = 0
    small = export(model, csr="never")
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        torch.testing.assert_close(small(x), model(x), rtol=1e-6, atol=1e-6)
    assert isinstance(small.module.rnn, nn.GRU)
    assert small.report.layers[0]["name"] == "mlp.0"
    path = tmp_path / "x.safetensors"
    small.save(path)
    with pytest.raises(TypeError, match="holds a .*Net at 'the top'.*template"):
        load_exported(path)
    with pytest.raises(TypeError, match="template at 'the top' is a Sequential"):
        load_exported(path, template=nn.Sequential())
    template = Net()
    template.scale = 1.0  # the file's plain attributes replace the template's
    back = load_exported(path, template=template)
    assert back.module is template and template.scale == 2.0
    assert back.report.to_dict() == small.report.to_dict()
    with torch.no_grad():
        assert torch.equal(back(x), small(x))


def test_bad_arguments_and_files(tmp_path):
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    with pytest.raises(ValueError, match="csr must be one of"):
        export(net, csr="sometimes")
    with pytest.raises(ValueError, match="batch_size"):
        export(net, batch_size=0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        export([net])
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(ModelFileError, match="not written by ExportedModel.save"):
        load_exported(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        load_exported(junk)
    good = tmp_path / "good.safetensors"
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].weight[0, 0] = 1.0
    export(net, csr="always").save(good)
    from safetensors import safe_open

    with safe_open(str(good), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["0.input_index"] = torch.tensor([7])  # points outside the layer's 2 inputs
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(ModelFileError, match="input_index"):
        load_exported(bad)
    with pytest.raises(TypeError, match="template must be a torch.nn.Module"):
        load_exported(good, template="net")


@pytest.mark.parametrize("csr", ["auto", *available_formats(), *FUSED])
def test_a_sparse_lstm_layer_keeps_the_outputs(csr):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 16, batch_first=True)
            self.head = nn.Linear(16, 1)

        def forward(self, x):
            return self.head(self.lstm(x)[0])

    torch.manual_seed(4)
    model = Net().eval()
    with torch.no_grad():
        for w in (model.lstm.weight_ih_l0, model.lstm.weight_hh_l0):
            w.mul_(torch.rand(w.shape) > 0.8)
    small = export(model, csr=csr)
    row = [r for r in small.report.layers if r["name"] == "lstm"][0]
    assert row["nnz"] == int(
        (model.lstm.weight_ih_l0 != 0).sum() + (model.lstm.weight_hh_l0 != 0).sum()
    )
    if csr == "auto":
        assert row["format"] == min(row["seconds"], key=row["seconds"].get)
        lstm_s = row["seconds"]
        assert small.report.timed == [
            {
                "name": "lstm",
                "kind": "lstm",
                "dense_seconds": lstm_s["dense"],
                "seconds": min(lstm_s.values()),
            }
        ]
    elif csr == "fused":
        assert isinstance(small.module.lstm, FusedSparseLSTM) and row["format"] == "fused"
    else:
        assert type(small.module.lstm).__name__ == "PrunedLSTM" and row["format"] == csr
    x = torch.randn(3, 7, 6)
    h0 = (torch.randn(1, 3, 16), torch.randn(1, 3, 16))
    with torch.no_grad():
        torch.testing.assert_close(small(x), model(x), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(
            small.module.lstm(x, h0), model.lstm(x, h0), rtol=1e-5, atol=1e-5
        )
        torch.testing.assert_close(small.module.lstm(x[0]), model.lstm(x[0]), rtol=1e-5, atol=1e-5)


def test_an_lstm_named_inside_a_sequential_is_replaced():
    """``nn.Sequential(OrderedDict(lstm=...))``: the child is found by name, not index."""
    from collections import OrderedDict

    torch.manual_seed(5)
    lstm = nn.LSTM(4, 8)
    with torch.no_grad():
        lstm.weight_hh_l0.mul_(torch.rand(lstm.weight_hh_l0.shape) > 0.8)
    model = nn.Sequential(OrderedDict(lstm=lstm))
    small = export(model, csr="csr")
    assert type(small.module.lstm).__name__ == "PrunedLSTM"
    x = torch.randn(5, 2, 4)
    with torch.no_grad():
        torch.testing.assert_close(small.module.lstm(x), lstm(x), rtol=1e-5, atol=1e-5)


class _TinyLM(nn.Module):
    """Embedding, a batch-first LSTM and a decoder in a Sequential, as a word LSTM LM."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.decoder = nn.Sequential(nn.Linear(16, 200))

    def forward(self, tokens):
        h, _ = self.lstm(self.emb(tokens))
        return self.decoder(h)


def test_example_input_times_each_layer_at_the_shape_it_sees():
    # independent answer: the shapes are those of the forward written out by hand, a
    # decoder reading all 35 positions of one sequence at once, the LSTM one sequence
    from bsdl.pruning.export_timing import input_shapes

    torch.manual_seed(0)
    lm = _TinyLM().eval()
    with torch.no_grad():
        for p in (lm.lstm.weight_ih_l0, lm.lstm.weight_hh_l0, lm.decoder[0].weight):
            p.mul_((torch.rand_like(p) > 0.7).float())
    tokens = torch.randint(0, 50, (1, 35))
    assert input_shapes(lm, tokens) == {"lstm": (1, 35), "decoder.0": (35,)}
    assert input_shapes(lm, (torch.randint(0, 50, (4, 9)),))["decoder.0"] == (36,)
    small = export(lm, example_input=tokens)
    [decoder] = [r for r in small.report.layers if r["name"] == "decoder.0"]
    assert decoder["timed_rows"] == 35
    with torch.no_grad():
        torch.testing.assert_close(small(tokens), lm(tokens), rtol=1e-5, atol=1e-5)
    trained = _TinyLM()  # input_shapes runs the model in eval mode and restores its mode
    assert input_shapes(trained, tokens)["decoder.0"] == (35,) and trained.training
    # without an example the decoder is timed at batch_size rows
    plain = export(lm, batch_size=3)
    assert [r["timed_rows"] for r in plain.report.layers if r["name"] == "decoder.0"] == [3]


def test_example_input_bad_values():
    lm = _TinyLM()
    with pytest.raises(TypeError, match="example_input must be a tensor"):
        export(lm, example_input=[1, 2, 3])
    from bsdl.pruning.export_timing import input_shapes

    with pytest.raises(ValueError, match="example_input: the model's forward failed"):
        export(lm, example_input=torch.randn(2, 3))  # floats into an embedding
    with pytest.raises(ValueError, match="example_input: the model's forward failed"):
        input_shapes(lm, torch.randn(2, 3))
    assert lm.training  # restored after the failed call, its hooks removed
    assert not any(m._forward_pre_hooks for m in lm.modules())
