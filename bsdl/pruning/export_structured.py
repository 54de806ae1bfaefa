"""The structured part of :func:`bsdl.pruning.export`: dead heads and linked units removed.

* ``nn.MultiheadAttention``: a head whose output-projection columns are all zero (or
  whose value rows and value bias are) adds nothing; the module becomes a
  :class:`PrunedMultiheadAttention` with the other heads only (same call signature).
* Hugging-Face-style attention (``q_proj``/``k_proj``/``v_proj`` and ``o_proj`` or
  ``out_proj``, an integer ``num_heads``-like attribute): the dead heads' rows and columns
  are cut from the four Linear layers and the head-count attributes are lowered, as
  ``transformers``' own ``prune_heads`` does (grouped key/value heads are left alone).
* ``links`` ``{producer: consumer}``: a producer output that the consumer does not read
  (its column of the consumer is all zero; for a recurrent producer, also its column of
  the hidden weight) is removed from both. A recurrent producer must be a one-layer,
  unidirectional ``nn.RNN``/``nn.LSTM``/``nn.GRU``; its hidden size shrinks, so the
  tensors it returns are narrower, and only the linked consumer may read them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bsdl.pruning.groups import HEAD_ATTRS, attention_projections

__all__ = ["PrunedMultiheadAttention", "shrink_structures"]


class PrunedMultiheadAttention(nn.Module):
    """``nn.MultiheadAttention`` at inference with some heads removed.

    Called as ``nn.MultiheadAttention`` is (``query, key, value, key_padding_mask,
    need_weights, attn_mask, average_attn_weights, is_causal``); attention weights, when
    asked for, are those of the kept heads (averaged over them by default). Its
    ``_qkv_same_embed_dim`` is False, so ``nn.TransformerEncoderLayer`` takes its regular
    path through it.

    Parameters
    ----------
    mha : nn.MultiheadAttention
        Without ``add_bias_kv`` or ``add_zero_attn``.
    keep : BoolTensor
        ``(num_heads,)``, the heads to keep.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> mha = nn.MultiheadAttention(8, 4, batch_first=True).eval()
    >>> with torch.no_grad():
    ...     _ = mha.out_proj.weight[:, 2:4].zero_()    # head 1 writes nothing
    >>> small = PrunedMultiheadAttention(mha, torch.tensor([True, False, True, True]))
    >>> x = torch.randn(2, 5, 8)
    >>> bool(torch.allclose(small(x, x, x)[0], mha(x, x, x)[0], atol=1e-6))
    True
    >>> small.num_heads, small.q_weight.shape
    (3, torch.Size([6, 8]))
    """

    def __init__(self, mha: nn.MultiheadAttention, keep: torch.Tensor) -> None:
        super().__init__()
        if mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("PrunedMultiheadAttention: add_bias_kv/add_zero_attn not supported")
        E, H = mha.embed_dim, mha.num_heads
        d = E // H
        idx = torch.nonzero(keep.cpu()).reshape(-1)
        rows = (idx[:, None] * d + torch.arange(d)).reshape(-1).to(mha.out_proj.weight.device)
        if mha._qkv_same_embed_dim:
            ws = mha.in_proj_weight.detach().chunk(3)
        else:
            ws = [getattr(mha, f"{c}_proj_weight").detach() for c in "qkv"]
        bs = [None] * 3 if mha.in_proj_bias is None else mha.in_proj_bias.detach().chunk(3)
        for c, w, b in zip("qkv", ws, bs):
            self.register_buffer(f"{c}_weight", w[rows].clone())
            self.register_buffer(f"{c}_bias", None if b is None else b[rows].clone())
        self.register_buffer("out_weight", mha.out_proj.weight.detach()[:, rows].clone())
        ob = mha.out_proj.bias
        self.register_buffer("out_bias", None if ob is None else ob.detach().clone())
        self.embed_dim, self.num_heads, self.head_dim = E, int(idx.numel()), d
        self.batch_first = mha.batch_first
        self._qkv_same_embed_dim = False  # nn.Transformer* layers then skip their fast path
        self.in_proj_bias = None if self.q_bias is None else torch.cat(
            [self.q_bias, self.k_bias, self.v_bias]
        )  # fmt: skip
        self.eval()

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        batched = query.dim() == 3
        if not batched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if not self.batch_first or not batched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        B, L, _ = query.shape
        S = key.shape[1]
        h, d = self.num_heads, self.head_dim

        def heads(x, w, b):
            return F.linear(x, w, b).view(B, -1, h, d).transpose(1, 2)

        q = heads(query, self.q_weight, self.q_bias)
        k = heads(key, self.k_weight, self.k_bias)
        v = heads(value, self.v_weight, self.v_bias)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d)
        if attn_mask is None and is_causal:
            attn_mask = torch.ones(L, S, dtype=torch.bool, device=q.device).triu(1)
        if attn_mask is not None:
            if attn_mask.dim() == 3:  # (B * num_heads_before, L, S): keep our heads' rows
                raise ValueError(
                    "PrunedMultiheadAttention: a per-head attn_mask cannot be used after heads "
                    "were removed; pass an (L, S) mask"
                )
            scores = scores + _additive(attn_mask, scores.dtype)
        if key_padding_mask is not None:
            scores = scores + _additive(key_padding_mask, scores.dtype)[:, None, None, :]
        attn = scores.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B, L, h * d)
        out = F.linear(out, self.out_weight, self.out_bias)
        if not self.batch_first or not batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        weights = None
        if need_weights and h > 0:
            weights = attn.mean(dim=1) if average_attn_weights else attn
            if not batched:
                weights = weights.squeeze(0)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, head_dim={self.head_dim}"


def _additive(mask: torch.Tensor, dtype) -> torch.Tensor:
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, -math.inf)
    return mask.to(dtype)


# ---------------------------------------------------------------------------- rebuilding
def _linear(lin: nn.Linear, rows=None, cols=None) -> nn.Linear:
    w = lin.weight.detach()
    w = w if rows is None else w[rows]
    w = w if cols is None else w[:, cols]
    new = nn.Linear(w.shape[1], w.shape[0], bias=lin.bias is not None, device=w.device,
                    dtype=w.dtype)  # fmt: skip
    with torch.no_grad():
        new.weight.copy_(w)
        if lin.bias is not None:
            new.bias.copy_(lin.bias if rows is None else lin.bias[rows])
    return new


def _gates(rnn: nn.RNNBase) -> int:
    return {"LSTM": 4, "GRU": 3}.get(rnn.mode, 1)


def _rnn(rnn: nn.RNNBase, in_keep=None, hidden_keep=None) -> nn.RNNBase:
    """A copy of a unidirectional recurrent module with inputs and (one layer) units kept."""
    H, G = rnn.hidden_size, _gates(rnn)
    hid = torch.arange(H) if hidden_keep is None else hidden_keep.cpu()
    rows = (torch.arange(G)[:, None] * H + hid).reshape(-1)
    kwargs = dict(num_layers=rnn.num_layers, bias=rnn.bias, batch_first=rnn.batch_first)
    if isinstance(rnn, nn.RNN):
        kwargs["nonlinearity"] = rnn.nonlinearity
    n_in = rnn.input_size if in_keep is None else int(in_keep.numel())
    w0 = rnn.weight_ih_l0
    new = type(rnn)(n_in, int(hid.numel()), **kwargs).to(device=w0.device, dtype=w0.dtype)
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            t = p.detach()
            if rnn.num_layers == 1:
                t = t[rows.to(t.device)]
                if name.startswith("weight_hh"):
                    t = t[:, hid.to(t.device)]
            if name == "weight_ih_l0" and in_keep is not None:
                t = t[:, in_keep.to(t.device)]
            getattr(new, name).copy_(t)
    return new.eval()


def _consumer_reads(cons: nn.Module) -> torch.Tensor:
    w = cons.weight if isinstance(cons, nn.Linear) else cons.weight_ih_l0
    return (w.detach() != 0).any(dim=0)


def _shrink_consumer(cons: nn.Module, keep: torch.Tensor) -> nn.Module:
    if isinstance(cons, nn.Linear):
        return _linear(cons, cols=keep)
    return _rnn(cons, in_keep=keep)


@torch.no_grad()
def shrink_structures(work: nn.Module, links: dict[str, str]) -> tuple[nn.Module, list[dict]]:
    """Remove dead heads and linked units from ``work`` in place; returns ``work`` (a new
    module when ``work`` itself was replaced) and one report row per shrunk structure."""
    rows = []
    for name, mod in list(work.named_modules()):
        if type(mod) is nn.MultiheadAttention and mod.bias_k is None and not mod.add_zero_attn:
            E, H = mod.embed_dim, mod.num_heads
            d = E // H
            out_dead = (mod.out_proj.weight.detach() == 0).view(E, H, d).all(dim=(0, 2))
            v = (mod.in_proj_weight.detach().chunk(3)[2] if mod._qkv_same_embed_dim
                 else mod.v_proj_weight.detach())  # fmt: skip
            v_dead = (v == 0).view(H, -1).all(dim=1)
            if mod.in_proj_bias is not None:
                v_dead &= (mod.in_proj_bias.detach().chunk(3)[2] == 0).view(H, d).all(dim=1)
            keep = ~(out_dead | v_dead)
            if not bool(keep.all()):
                new = PrunedMultiheadAttention(mod, keep)
                if name:
                    _replace(work, name, new)
                else:
                    work = new
                rows.append(_row(name, "head", H, int(keep.sum())))
        elif (found := attention_projections(mod)) is not None:
            (q, k, v), out, attr = found
            H = getattr(mod, attr)
            n_q = q.out_features
            if H <= 0 or n_q % H or not k.out_features == v.out_features == n_q:
                continue
            d = q.out_features // H
            keep = ~(out.weight.detach() == 0).view(out.out_features, H, d).all(dim=(0, 2))
            if bool(keep.all()):
                continue
            sel = (torch.nonzero(keep.cpu()).reshape(-1)[:, None] * d + torch.arange(d)).reshape(-1)
            sel = sel.to(q.weight.device)
            for child, lin in (("q_proj", q), ("k_proj", k), ("v_proj", v)):
                setattr(mod, child, _linear(lin, rows=sel))
            o_name = "o_proj" if isinstance(getattr(mod, "o_proj", None), nn.Linear) else "out_proj"
            setattr(mod, o_name, _linear(out, cols=sel))
            for a in HEAD_ATTRS:
                if isinstance(getattr(mod, a, None), int):
                    setattr(mod, a, int(keep.sum()))
            if isinstance(getattr(mod, "all_head_size", None), int):
                mod.all_head_size = int(keep.sum()) * d
            rows.append(_row(name, "head", H, int(keep.sum())))
    modules = dict(work.named_modules())
    for prod_name, cons_name in links.items():
        prod, cons = modules[prod_name], modules[cons_name]
        read = _consumer_reads(cons)
        if isinstance(prod, nn.RNNBase):
            if prod.num_layers != 1 or prod.bidirectional or getattr(prod, "proj_size", 0):
                continue
            read |= (prod.weight_hh_l0.detach() != 0).any(dim=0)
        if bool(read.all()):
            continue
        keep = torch.nonzero(read).reshape(-1)
        if isinstance(prod, nn.Linear):
            new_prod = _linear(prod, rows=keep)
            kind, before = "unit", prod.out_features
        else:
            new_prod = _rnn(prod, hidden_keep=keep)
            kind, before = "rnn_unit", prod.hidden_size
        _replace(work, prod_name, new_prod)
        _replace(work, cons_name, _shrink_consumer(cons, keep))
        modules = dict(work.named_modules())
        rows.append(_row(prod_name, kind, before, int(keep.numel())))
    return work, rows


def _row(name: str, kind: str, before: int, after: int) -> dict:
    return {"name": name, "kind": kind, "groups_before": before, "groups_after": after}


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    if isinstance(parent, nn.Sequential | nn.ModuleList) and child.isdigit():
        parent[int(child)] = new  # a named child of a Sequential (OrderedDict) is set below
    else:
        setattr(parent, child, new)
