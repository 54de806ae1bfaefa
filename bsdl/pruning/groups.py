"""Groups of weights that structured pruning removes together, found in any ``nn.Module``.

Three kinds, each a :class:`GroupFamily` of equally sized groups:

``"unit"``
    A hidden unit between two ``nn.Linear`` layers: row ``j`` of the first weight and
    column ``j`` of the second. Found in every ``nn.Sequential`` run ``Linear (act)*
    Linear ...`` (the activations elementwise, see :data:`ELEMENTWISE_TYPES`) and for every
    ``links`` pair of Linear layers.
``"head"``
    An attention head: its rows of the query, key and value projections and its columns of
    the output projection, for ``nn.MultiheadAttention`` and for modules with
    ``q_proj``/``k_proj``/``v_proj`` Linear children, an ``o_proj`` or ``out_proj`` Linear
    and an integer ``num_heads`` (or ``num_attention_heads``, ``n_heads``) attribute (the
    Hugging Face layout). With grouped key/value heads (fewer key rows than query rows)
    only the query rows and output columns form the group.
``"rnn_unit"``
    A hidden unit of a unidirectional ``nn.RNN``/``nn.LSTM``/``nn.GRU`` layer without
    projection: its rows of every gate in the input and hidden weights, its column of the
    hidden weight (what the other units read of it) and its column of the next layer's
    input weight; for the last layer, its column of the consumer named in ``links``.

``links`` maps a producer module name to the consumer module that alone reads its output
(through elementwise operations only): ``{"lstm": "head", "ffn.fc1": "ffn.fc2"}``. It is
how a structure that is not an ``nn.Sequential`` is declared, and :func:`bsdl.pruning.export`
reads the same mapping to shrink the shapes.

Each group is stored as flat indices into its parameters, so the weights of a group are
``param.view(-1)[index[g]]`` (a weight shared by two of the group's parts is listed once).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = [
    "GroupFamily",
    "find_groups",
    "linear_runs",
    "attention_projections",
    "check_links",
    "KINDS",
    "ELEMENTWISE_TYPES",
    "HEAD_ATTRS",
]

KINDS = ("unit", "head", "rnn_unit")
HEAD_ATTRS = ("num_heads", "num_attention_heads", "n_heads")

ELEMENTWISE_TYPES: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Tanh,
    nn.Sigmoid,
    nn.Softplus,
    nn.Hardtanh,
    nn.Identity,
    nn.Dropout,
)
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


@dataclass
class GroupFamily:
    """Equally sized groups of weights of one structure (the units of one layer, the heads
    of one attention module, the hidden units of one recurrent layer).

    Attributes
    ----------
    kind : {"unit", "head", "rnn_unit"}
    name : str
        The owning module (``"0"``, ``"encoder.attn"``, ``"lstm.l0"``).
    names : list of str
        Parameter names touched by the groups.
    params : list of nn.Parameter
    index : list of LongTensor
        Per parameter, ``(n_groups, k)`` flat indices of each group's weights in it.
    """

    kind: str
    name: str
    names: list[str] = field(default_factory=list)
    params: list[nn.Parameter] = field(default_factory=list)
    index: list[torch.Tensor] = field(default_factory=list)

    @property
    def n_groups(self) -> int:
        return int(self.index[0].shape[0])

    @property
    def size(self) -> int:
        """Weights per group."""
        return sum(int(i.shape[1]) for i in self.index)

    def add(self, name: str, param: nn.Parameter, index: torch.Tensor) -> None:
        """Add ``(n_groups, k)`` flat indices into ``param`` (merged, without duplicates,
        with the indices already held for the same parameter)."""
        index = index.to(device=param.device, dtype=torch.long)
        for i, p in enumerate(self.params):
            if p is param:
                merged = torch.cat([self.index[i], index], dim=1).sort(dim=1).values
                dup = torch.zeros_like(merged, dtype=torch.bool)
                dup[:, 1:] = merged[:, 1:] == merged[:, :-1]
                counts = dup.sum(dim=1)
                if bool((counts != counts[0]).any()):  # pragma: no cover - layouts above
                    raise RuntimeError(f"groups of {self.name!r} overlap unevenly in {name!r}")
                self.index[i] = merged[~dup].view(merged.shape[0], -1)
                return
        self.names.append(name)
        self.params.append(param)
        self.index.append(index)

    @torch.no_grad()
    def sq_norms(self) -> torch.Tensor:
        """Squared norm of each group (float32 or the parameters' wider dtype)."""
        out = None
        for p, idx in zip(self.params, self.index):
            part = p.detach().reshape(-1)[idx].float().pow(2).sum(dim=1)
            out = part if out is None else out + part.to(out.device)
        return out

    def element_masks(self, groups: torch.Tensor) -> list[torch.Tensor]:
        """Boolean tensors shaped as the parameters: True on the weights of ``groups``
        (a boolean vector over the groups)."""
        masks = []
        for p, idx in zip(self.params, self.index):
            m = torch.zeros(p.numel(), dtype=torch.bool, device=p.device)
            m[idx[groups.to(idx.device)].reshape(-1)] = True
            masks.append(m.view(p.shape))
        return masks


# ---------------------------------------------------------------------------- index layouts
def _rows(shape, idx: torch.Tensor) -> torch.Tensor:
    """Flat indices of rows ``idx`` (``(G, k)``) of a 2-D tensor: ``(G, k * cols)``."""
    cols = shape[1]
    return (idx[:, :, None] * cols + torch.arange(cols)).reshape(idx.shape[0], -1)


def _cols(shape, idx: torch.Tensor) -> torch.Tensor:
    """Flat indices of columns ``idx`` (``(G, k)``): ``(G, k * rows)``."""
    rows, cols = shape
    return (torch.arange(rows)[None, None, :] * cols + idx[:, :, None]).reshape(idx.shape[0], -1)


def _each(n: int) -> torch.Tensor:
    return torch.arange(n)[:, None]


def _head_rows(n_heads: int, head_dim: int, offset: int = 0) -> torch.Tensor:
    return offset + torch.arange(n_heads)[:, None] * head_dim + torch.arange(head_dim)


# ---------------------------------------------------------------------------- discovery
def linear_runs(seq: nn.Sequential) -> list[list[int]]:
    """Indices of the Linear layers of each stack ``Linear (act)* Linear ...`` in ``seq``.

    Types are matched exactly: a subclass may compute something else in its forward.
    """
    runs: list[list[int]] = []
    current: list[int] = []
    for i, mod in enumerate(seq):
        if type(mod) is nn.Linear:
            current.append(i)
        elif type(mod) not in ELEMENTWISE_TYPES:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def attention_projections(module: nn.Module) -> tuple[list[nn.Linear], nn.Linear, str] | None:
    """``([q, k, v], out, heads attribute)`` of a Hugging-Face-style attention module, or
    None when ``module`` does not have that layout."""
    children = dict(module.named_children())
    qkv = [children.get(n) for n in ("q_proj", "k_proj", "v_proj")]
    out = children.get("o_proj", children.get("out_proj"))
    attr = next((a for a in HEAD_ATTRS if isinstance(getattr(module, a, None), int)), None)
    if attr is None or not all(isinstance(m, nn.Linear) for m in [*qkv, out]):
        return None
    return qkv, out, attr


def check_links(model: nn.Module, links) -> dict[str, str]:
    """Validate a ``links`` mapping against ``model``'s module names and types."""
    if links is None:
        return {}
    if not isinstance(links, Mapping):
        raise TypeError(
            f"links must be a dict {{producer module name: consumer module name}}, got "
            f"{type(links).__name__}"
        )
    modules = dict(model.named_modules())
    out = {}
    for prod, cons in links.items():
        for role, name in (("producer", prod), ("consumer", cons)):
            if not isinstance(name, str) or name not in modules:
                raise ValueError(
                    f"links: {role} {name!r} is not a module name of the model (names are "
                    "those of model.named_modules(), e.g. 'encoder.0')"
                )
            if not isinstance(modules[name], nn.Linear | nn.RNNBase):
                raise ValueError(
                    f"links: {role} {name!r} is a {type(modules[name]).__name__}; links "
                    "join nn.Linear and recurrent (nn.RNN/LSTM/GRU) modules"
                )
        out[prod] = cons
    return out


def _consumer_columns(fam: GroupFamily, model_modules: dict, cons_name: str, idx: torch.Tensor):
    cons = model_modules[cons_name]
    w_name = "weight" if isinstance(cons, nn.Linear) else "weight_ih_l0"
    w = getattr(cons, w_name)
    if w.shape[1] != idx.shape[0]:
        raise ValueError(
            f"links: {fam.name!r} has {idx.shape[0]} outputs but its consumer {cons_name!r} "
            f"reads {w.shape[1]} inputs"
        )
    fam.add(f"{cons_name}.{w_name}", w, _cols(w.shape, idx))


def _rnn_families(name: str, rnn: nn.RNNBase, links: dict, modules: dict) -> list[GroupFamily]:
    if rnn.bidirectional or getattr(rnn, "proj_size", 0):
        return []
    gates = _GATES.get(rnn.mode.split("_")[0], 1)
    H = rnn.hidden_size
    rows = torch.arange(H)[:, None] + H * torch.arange(gates)  # (H, gates)
    fams = []
    for layer in range(rnn.num_layers):
        fam = GroupFamily("rnn_unit", f"{name}.l{layer}" if name else f"l{layer}")
        for w_name in (f"weight_ih_l{layer}", f"weight_hh_l{layer}"):
            w = getattr(rnn, w_name)
            fam.add(f"{name}.{w_name}" if name else w_name, w, _rows(w.shape, rows))
        w = getattr(rnn, f"weight_hh_l{layer}")
        fam.add(f"{name}.weight_hh_l{layer}" if name else f"weight_hh_l{layer}", w,
                _cols(w.shape, _each(H)))  # fmt: skip
        if layer + 1 < rnn.num_layers:
            w_name = f"weight_ih_l{layer + 1}"
            w = getattr(rnn, w_name)
            fam.add(f"{name}.{w_name}" if name else w_name, w, _cols(w.shape, _each(H)))
        elif name in links:
            _consumer_columns(fam, modules, links[name], _each(H))
        fams.append(fam)
    return fams


def _mha_family(name: str, mha: nn.MultiheadAttention) -> GroupFamily:
    E, H = mha.embed_dim, mha.num_heads
    d = E // H
    fam = GroupFamily("head", name)
    prefix = f"{name}." if name else ""
    if mha._qkv_same_embed_dim:
        rows = torch.cat([_head_rows(H, d, o) for o in (0, E, 2 * E)], dim=1)
        w = mha.in_proj_weight
        fam.add(prefix + "in_proj_weight", w, _rows(w.shape, rows))
    else:
        for w_name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
            w = getattr(mha, w_name)
            fam.add(prefix + w_name, w, _rows(w.shape, _head_rows(H, d)))
    w = mha.out_proj.weight
    fam.add(prefix + "out_proj.weight", w, _cols(w.shape, _head_rows(H, d)))
    return fam


def _hf_family(name: str, module: nn.Module) -> GroupFamily | None:
    found = attention_projections(module)
    if found is None:
        return None
    (q, k, v), out, attr = found
    H = getattr(module, attr)
    if H <= 0 or q.out_features % H:
        return None
    d = q.out_features // H
    fam = GroupFamily("head", name)
    prefix = f"{name}." if name else ""
    for child, lin in (("q_proj", q), ("k_proj", k), ("v_proj", v)):
        if lin.out_features == q.out_features:  # grouped key/value heads stay whole
            rows = _rows(lin.weight.shape, _head_rows(H, d))
            fam.add(f"{prefix}{child}.weight", lin.weight, rows)
    o_name = "o_proj" if "o_proj" in dict(module.named_children()) else "out_proj"
    fam.add(f"{prefix}{o_name}.weight", out.weight, _cols(out.weight.shape, _head_rows(H, d)))
    return fam


def find_groups(
    model: nn.Module,
    kinds: Sequence[str] | str = "auto",
    links: Mapping[str, str] | None = None,
    exclude: Sequence[str] | str = (),
) -> list[GroupFamily]:
    """The group families of ``model`` (see the module docstring).

    Parameters
    ----------
    model : nn.Module
    kinds : "auto" or list of {"unit", "head", "rnn_unit"}, default "auto" (all three)
    links : dict, optional
        ``{producer module name: consumer module name}`` for structures outside an
        ``nn.Sequential``.
    exclude : str or list of str
        Glob patterns on the owning module's name (``"encoder.*"``); matching families are
        left out.

    Returns
    -------
    list of GroupFamily
        Families whose parameters are all trainable.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.Tanh(),
    ...                     nn.Linear(6, 1))
    >>> [(f.kind, f.name, f.n_groups, f.size) for f in find_groups(net)]
    [('unit', '0', 8, 10), ('unit', '2', 6, 9)]
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if kinds == "auto":
        kinds = KINDS
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, Sequence) or not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"groups must be 'auto' or a non-empty list of {KINDS}, got {kinds!r}")
    if isinstance(exclude, str):
        exclude = [exclude]
    links = check_links(model, links)
    modules = dict(model.named_modules())
    fams: list[GroupFamily] = []
    if "unit" in kinds:
        for seq_name, seq in modules.items():
            if not isinstance(seq, nn.Sequential):
                continue
            for run in linear_runs(seq):
                for i, j in zip(run, run[1:]):
                    a, b = seq[i], seq[j]
                    name = f"{seq_name}.{i}" if seq_name else str(i)
                    fam = GroupFamily("unit", name)
                    b_name = f"{seq_name}.{j}" if seq_name else str(j)
                    rows = _rows(a.weight.shape, _each(a.out_features))
                    fam.add(f"{name}.weight", a.weight, rows)
                    cols = _cols(b.weight.shape, _each(b.in_features))
                    fam.add(f"{b_name}.weight", b.weight, cols)
                    fams.append(fam)
        for prod, cons in links.items():
            if isinstance(modules[prod], nn.Linear):
                a = modules[prod]
                fam = GroupFamily("unit", prod)
                fam.add(f"{prod}.weight", a.weight, _rows(a.weight.shape, _each(a.out_features)))
                _consumer_columns(fam, modules, cons, _each(a.out_features))
                fams.append(fam)
    for name, module in modules.items():
        if "head" in kinds and isinstance(module, nn.MultiheadAttention):
            fams.append(_mha_family(name, module))
        elif "head" in kinds and (fam := _hf_family(name, module)) is not None:
            fams.append(fam)
        elif "rnn_unit" in kinds and isinstance(module, nn.RNNBase):
            fams.extend(_rnn_families(name, module, links, modules))
    return [
        f
        for f in fams
        if all(p.requires_grad for p in f.params)
        and not any(fnmatch.fnmatchcase(f.name, pat) for pat in exclude)
    ]
