"""Saving and loading exported models: safetensors tensors, the structure as JSON, no pickle.

:func:`describe` walks an exported module tree and returns its structure (plain JSON
types) and its tensors; :func:`build` does the reverse. Every 2-D weight is stored in CSR
(32-bit indices) when that takes fewer bytes than dense.

Known modules are rebuilt from the file alone: the exported layers
(:class:`~bsdl.pruning.sparse_linear.PrunedLinear`,
:class:`~bsdl.pruning.sparse_rnn.PrunedLSTM`,
:class:`~bsdl.pruning.export_fused.FusedSparseStack`,
:class:`~bsdl.pruning.export_fused.FusedSparseLSTM`,
:class:`~bsdl.pruning.export_structured.PrunedMultiheadAttention`), the torch modules of
:data:`TORCH_MODULES` (``nn.Linear``, ``nn.Embedding``, ``nn.LayerNorm``, ``nn.LSTM``,
``nn.GRU``, ``nn.RNN``, ``nn.MultiheadAttention``), the activations of
:data:`~bsdl.pruning.export.ELEMENTWISE` and the containers ``nn.Sequential``,
``nn.ModuleList`` and ``nn.ModuleDict``. Any other module (a user's model class, whose
``forward`` is code that a file without pickle cannot hold) is recorded by its class
name, its own tensors, its plain attributes (int, float, bool, str, None) and its
children; loading then needs a ``template``: an instance of that class (freshly
constructed, any weights), whose children, tensors and those attributes are replaced by
the file's.

Loading checks everything against the structure: every tensor named by it must be there
with the shape it implies (modules are first built on the ``meta`` device, so a tampered
size allocates nothing), CSR arrays must satisfy torch's invariants, and the file may hold
no other tensor; any mismatch is a :class:`~bsdl.exceptions.ModelFileError` (a
``ValueError``).
"""

from __future__ import annotations

import torch
from torch import nn

from bsdl.exceptions import ModelFileError
from bsdl.pruning.export_fused import FusedSparseLSTM, FusedSparseStack, fused_available
from bsdl.pruning.export_structured import PrunedMultiheadAttention
from bsdl.pruning.sparse_kernels import available_formats
from bsdl.pruning.sparse_linear import PrunedLinear, csr_nbytes, csr_tensor, to_csr
from bsdl.pruning.sparse_rnn import PrunedLSTM

__all__ = ["describe", "build", "TORCH_MODULES"]


_RNN_ARGS = ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout",
             "bidirectional")  # fmt: skip
# torch module -> (class, its constructor arguments: "arg" is the attribute of that name,
# "arg:attr" whether the attribute attr is not None); rebuilt with them, then its state loaded
TORCH_MODULES = {
    "Linear": (nn.Linear, ("in_features", "out_features", "bias:bias")),
    "Embedding": (nn.Embedding, ("num_embeddings", "embedding_dim", "padding_idx", "max_norm",
                                 "norm_type", "scale_grad_by_freq", "sparse")),
    "LayerNorm": (nn.LayerNorm, ("normalized_shape", "eps", "elementwise_affine", "bias:bias")),
    "LSTM": (nn.LSTM, (*_RNN_ARGS, "proj_size")),
    "GRU": (nn.GRU, _RNN_ARGS),
    "RNN": (nn.RNN, (*_RNN_ARGS, "nonlinearity")),
    "MultiheadAttention": (nn.MultiheadAttention, (
        "embed_dim", "num_heads", "dropout", "bias:in_proj_bias", "add_bias_kv:bias_k",
        "add_zero_attn", "kdim", "vdim", "batch_first")),
}  # fmt: skip


def _torch_kwargs(module: nn.Module, args: tuple[str, ...]) -> dict:
    out = {}
    for item in args:
        arg, _, attr = item.partition(":")
        value = getattr(module, attr) is not None if attr else getattr(module, arg)
        out[arg] = list(value) if isinstance(value, tuple) else value
    return out


_PLAIN = (bool, int, float, str, type(None))


# ---------------------------------------------------------------------------- writing
def _put(tensors: dict, name: str, t: torch.Tensor, csr_names: dict | None = None) -> None:
    """Store ``t`` under ``name``; a 2-D floating tensor in CSR when that is smaller (its
    name and shape then go to ``csr_names``)."""
    t = t.detach().cpu()
    if csr_names is not None and t.dim() == 2 and t.is_floating_point():
        nnz = int((t != 0).sum())
        if csr_nbytes(nnz, t.shape[0], t.element_size()) < t.numel() * t.element_size():
            c = to_csr(t)
            tensors[name + ".crow_indices"] = c.crow_indices().to(torch.int32).contiguous()
            tensors[name + ".col_indices"] = c.col_indices().to(torch.int32).contiguous()
            tensors[name + ".values"] = c.values().clone().contiguous()
            csr_names[name] = list(t.shape)
            return
    tensors[name] = t.clone().contiguous()


def _act_spec(module: nn.Module):
    from bsdl.pruning.export import ELEMENTWISE

    for name, (cls, args) in ELEMENTWISE.items():
        if type(module) is cls:
            return {"type": name, "kwargs": {a: getattr(module, a) for a in args}}
    return None


def describe(module: nn.Module, prefix: str = "") -> tuple[dict, dict]:
    """``(structure, tensors)`` of an exported module tree (tensor names under ``prefix``)."""
    tensors: dict[str, torch.Tensor] = {}
    kind = type(module)
    if kind is PrunedLinear:
        w = module.dense_weight()
        csr: dict[str, list] = {}
        _put(tensors, prefix + "weight", w, csr)
        if module.bias is not None:
            _put(tensors, prefix + "bias", module.bias)
        if module.input_index is not None:
            _put(tensors, prefix + "input_index", module.input_index)
        spec = {
            "type": "PrunedLinear",
            "in_features": module.in_features,
            "shape": list(w.shape),
            "format": module.format,
            "csr": csr,
            "bias": module.bias is not None,
            "index": module.input_index is not None,
        }
        return spec, tensors
    if kind is FusedSparseStack:
        csr = {}
        weights, biases, acts = module.layers()
        for k, (w, b) in enumerate(zip(weights, biases)):
            _put(tensors, f"{prefix}{k}.weight", w, csr)
            if b is not None:
                _put(tensors, f"{prefix}{k}.bias", b)
        spec = {
            "type": "FusedSparseStack",
            "in_features": module.in_features,
            "widths": module.widths,
            "bias": [b is not None for b in biases],
            "activations": [[_act_spec(a) for a in gap] for gap in acts],
            "csr": csr,
        }
        return spec, tensors
    if kind in (FusedSparseLSTM, PrunedLSTM):
        csr = {}
        if kind is PrunedLSTM:
            w_ih, w_hh = module.ih.dense_weight(), module.hh.dense_weight()
            bias = module.ih.bias
        else:
            (w_ih, w_hh), bias = module.dense_weights(), module.bias
            bias = bias if module.has_bias else None
        _put(tensors, prefix + "weight_ih", w_ih, csr)
        _put(tensors, prefix + "weight_hh", w_hh, csr)
        if bias is not None:
            _put(tensors, prefix + "bias", bias)
        spec = {
            "type": kind.__name__,
            "input_size": module.input_size,
            "hidden_size": module.hidden_size,
            "batch_first": module.batch_first,
            "bias": bias is not None,
            "format": module.format,
            "csr": csr,
        }
        return spec, tensors
    if kind is PrunedMultiheadAttention:
        csr = {}
        for name, t in module.named_buffers(recurse=False):
            if t is not None and name != "in_proj_bias":
                _put(tensors, prefix + name, t, csr)
        spec = {
            "type": "PrunedMultiheadAttention",
            "embed_dim": module.embed_dim,
            "num_heads": module.num_heads,
            "head_dim": module.head_dim,
            "batch_first": module.batch_first,
            "csr": csr,
            "bias": module.q_bias is not None,
            "out_bias": module.out_bias is not None,
        }
        return spec, tensors
    if kind in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
        children = []
        for name, child in module.named_children():
            sub, sub_t = describe(child, f"{prefix}{name}.")
            children.append([name, sub])
            tensors.update(sub_t)
        return {"type": kind.__name__, "children": children}, tensors
    if (act := _act_spec(module)) is not None:
        return act, tensors
    for name, (cls, args) in TORCH_MODULES.items():
        if kind is cls:
            csr = {}
            for pname, t in module.state_dict().items():
                _put(tensors, prefix + pname, t, csr)
            return {"type": name, "kwargs": _torch_kwargs(module, args), "csr": csr}, tensors
    return _describe_custom(module, prefix)


def _describe_custom(module: nn.Module, prefix: str) -> tuple[dict, dict]:
    tensors: dict[str, torch.Tensor] = {}
    csr: dict[str, list] = {}
    own = [(n, t) for n, t in module.named_parameters(recurse=False)]
    own += [(n, t) for n, t in module.named_buffers(recurse=False) if t is not None]
    for name, t in own:
        _put(tensors, prefix + name, t, csr)
    children = []
    for name, child in module.named_children():
        sub, sub_t = describe(child, f"{prefix}{name}.")
        children.append([name, sub])
        tensors.update(sub_t)
    attrs = {
        k: v
        for k, v in vars(module).items()
        if not k.startswith("_") and k != "training" and isinstance(v, _PLAIN)
    }
    cls = type(module)
    spec = {
        "type": "Module",
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "parameters": [n for n, _ in module.named_parameters(recurse=False)],
        "buffers": [n for n, t in module.named_buffers(recurse=False) if t is not None],
        "attrs": attrs,
        "children": children,
        "csr": csr,
    }
    return spec, tensors


# ---------------------------------------------------------------------------- reading
class _Store:
    """The file's tensors; each may be taken once, and all must be taken in the end."""

    def __init__(self, tensors: dict) -> None:
        self.tensors = tensors
        self.used: set[str] = set()

    def take(self, name: str, shape=None, csr: dict | None = None) -> torch.Tensor:
        if csr is not None and name in csr:
            crow, col, val = (
                self._raw(f"{name}.{k}") for k in ("crow_indices", "col_indices", "values")
            )
            stored = csr[name]
            if not (
                isinstance(stored, list)
                and len(stored) == 2
                and all(type(n) is int and n >= 0 for n in stored)
            ):
                raise ModelFileError(f"{name} is stored in CSR without a 2-D shape")
            if shape is not None and tuple(shape) != tuple(stored):
                raise ModelFileError(f"{name} has shape {tuple(stored)}, expected {tuple(shape)}")
            shape = stored
            if crow.dtype != torch.int32 or col.dtype != torch.int32:
                raise ModelFileError(f"{name}: CSR indices must be 32-bit integers")
            t = csr_tensor(crow, col, val, shape).to_dense()
        else:
            t = self._raw(name)
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ModelFileError(f"{name} has shape {tuple(t.shape)}, expected {tuple(shape)}")
        return t

    def _raw(self, name: str) -> torch.Tensor:
        if name not in self.tensors:
            raise ModelFileError(f"the structure names a tensor {name!r} the file lacks")
        if name in self.used:
            raise ModelFileError(f"the structure names the tensor {name!r} twice")
        self.used.add(name)
        return self.tensors[name]

    def check_all_used(self) -> None:
        extra = sorted(set(self.tensors) - self.used)
        if extra:
            raise ModelFileError(f"the file holds tensors its structure does not name: {extra[:5]}")


def _int(spec: dict, key: str, low: int = 0) -> int:
    v = spec.get(key)
    if type(v) is not int or v < low:
        raise ModelFileError(f"{key} must be an integer >= {low} in the structure, got {v!r}")
    return v


def _bool(spec: dict, key: str) -> bool:
    v = spec.get(key)
    if type(v) is not bool:
        raise ModelFileError(f"{key} must be true or false in the structure, got {v!r}")
    return v


def _csr(spec: dict) -> dict:
    csr = spec.get("csr", {})
    if not isinstance(csr, dict):
        raise ModelFileError("csr must map tensor names to shapes in the structure")
    return csr


def _floating(t: torch.Tensor, name: str) -> torch.Tensor:
    if not t.is_floating_point():
        raise ModelFileError(f"{name} must hold floating-point numbers, got {t.dtype}")
    return t


def _act(spec: dict) -> nn.Module:
    from bsdl.pruning.export import ELEMENTWISE

    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind not in ELEMENTWISE:
        raise ModelFileError(f"unknown layer type {kind!r} in the exported model file")
    cls, args = ELEMENTWISE[kind]
    kwargs = spec.get("kwargs", {})
    if not isinstance(kwargs, dict) or set(kwargs) - set(args):
        raise ModelFileError(f"{kind}: unexpected arguments {kwargs!r}")
    return cls(**kwargs)


def _lstm_from(w_ih, w_hh, bias, input_size, hidden_size, batch_first) -> nn.LSTM:
    lstm = nn.LSTM(
        input_size, hidden_size, batch_first=batch_first, bias=bias is not None, dtype=w_ih.dtype
    )
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(w_ih)
        lstm.weight_hh_l0.copy_(w_hh)
        if bias is not None:
            lstm.bias_ih_l0.copy_(bias)
            lstm.bias_hh_l0.zero_()
    return lstm.eval()


def build(spec, store: _Store, prefix: str = "", template: nn.Module | None = None) -> nn.Module:
    """The module a structure of :func:`describe` names, its tensors taken from ``store``."""
    if not isinstance(spec, dict):
        raise ModelFileError(f"{prefix or 'the top'}: a layer's structure must be an object")
    kind = spec.get("type")
    if kind == "PrunedLinear":
        shape = spec.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2):
            raise ModelFileError(f"{prefix}shape must be a list of two integers")
        shape = (_int({"rows": shape[0]}, "rows"), _int({"cols": shape[1]}, "cols"))
        n_in = _int(spec, "in_features")
        weight = _floating(store.take(prefix + "weight", shape, _csr(spec)), prefix + "weight")
        bias = store.take(prefix + "bias", shape[:1]) if _bool(spec, "bias") else None
        index = None
        if _bool(spec, "index"):
            index = store.take(prefix + "input_index", shape[1:])
            if index.dtype != torch.int64 or bool(((index < 0) | (index >= n_in)).any()):
                raise ModelFileError(
                    f"{prefix}input_index does not fit {shape[1]} of {n_in} inputs"
                )
        elif shape[1] != n_in:
            raise ModelFileError(f"{prefix}weight has {shape[1]} columns for {n_in} inputs")
        fmt = spec.get("format")
        if fmt != "dense" and fmt not in available_formats(weight.device):
            fmt = "csr"  # the kernel's library is not installed here: torch's CSR kernel
        return PrunedLinear(weight, bias, index, n_in, fmt)
    if kind == "FusedSparseStack":
        return _build_stack(spec, store, prefix)
    if kind in ("FusedSparseLSTM", "PrunedLSTM"):
        n_in, H = _int(spec, "input_size", 1), _int(spec, "hidden_size", 1)
        csr = _csr(spec)
        w_ih = _floating(store.take(prefix + "weight_ih", (4 * H, n_in), csr), "weight_ih")
        w_hh = _floating(store.take(prefix + "weight_hh", (4 * H, H), csr), "weight_hh")
        bias = store.take(prefix + "bias", (4 * H,)) if _bool(spec, "bias") else None
        batch_first = _bool(spec, "batch_first")
        if kind == "FusedSparseLSTM" and fused_available():
            b = torch.zeros(4 * H, dtype=w_ih.dtype) if bias is None else bias
            return FusedSparseLSTM.from_arrays(
                w_ih, w_hh, b, n_in, H, batch_first, bias is not None
            )
        lstm = _lstm_from(w_ih, w_hh, bias, n_in, H, batch_first)
        fmt = spec.get("format")
        if fmt not in available_formats():
            fmt = "csr"  # fused or a kernel not installed here: torch's CSR kernel
        return PrunedLSTM(lstm, fmt)
    if kind == "PrunedMultiheadAttention":
        return _build_mha(spec, store, prefix)
    if kind in ("Sequential", "ModuleList", "ModuleDict"):
        children = _children(spec, prefix)
        built = [(n, build(c, store, f"{prefix}{n}.")) for n, c in children]
        if kind == "ModuleDict":
            return nn.ModuleDict(dict(built))
        out = nn.Sequential() if kind == "Sequential" else nn.ModuleList()
        for n, m in built:
            out.add_module(n, m)
        return out
    if kind in TORCH_MODULES:
        return _build_torch(kind, spec, store, prefix)
    if kind == "Module":
        return _build_custom(spec, store, prefix, template)
    return _act(spec)


def _children(spec: dict, prefix: str) -> list:
    children = spec.get("children")
    if not isinstance(children, list) or not all(
        isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and c[0] and "." not in c[0]
        for c in children
    ):
        raise ModelFileError(f"{prefix or 'the top'}: children must be [name, structure] pairs")
    return children


def _build_stack(spec: dict, store: _Store, prefix: str) -> nn.Module:
    widths = spec.get("widths")
    if not isinstance(widths, list) or len(widths) < 2:
        raise ModelFileError(f"{prefix}widths must list at least two sizes")
    widths = [_int({"width": w}, "width") for w in widths]
    n_layers = len(widths) - 1
    has_bias, acts = spec.get("bias"), spec.get("activations")
    if not (isinstance(has_bias, list) and len(has_bias) == n_layers):
        raise ModelFileError(f"{prefix}bias must list one flag per layer")
    if not (isinstance(acts, list) and len(acts) == n_layers - 1):
        raise ModelFileError(f"{prefix}activations must list one entry per gap between layers")
    if _int(spec, "in_features") != widths[0]:
        raise ModelFileError(f"{prefix}in_features does not match widths")
    csr = _csr(spec)
    weights, biases = [], []
    for k in range(n_layers):
        shape = (widths[k + 1], widths[k])
        w = store.take(f"{prefix}{k}.weight", shape, csr)
        weights.append(_floating(w, f"{prefix}{k}.weight"))
        flag = _bool({"bias": has_bias[k]}, "bias")
        biases.append(store.take(f"{prefix}{k}.bias", shape[:1]) if flag else None)
    activations = [[_act(a) for a in gap] for gap in acts]
    if fused_available():
        return FusedSparseStack(weights, biases, None, widths[0], activations)
    seq = nn.Sequential()  # numba is not installed here: the same stack, layer by layer
    for k, (w, b) in enumerate(zip(weights, biases)):
        seq.append(PrunedLinear(w, b, None, widths[k], "csr"))
        if k < n_layers - 1:
            seq.extend(activations[k])
    return seq


def _build_mha(spec: dict, store: _Store, prefix: str) -> nn.Module:
    E, h, d = (_int(spec, k, 1) for k in ("embed_dim", "num_heads", "head_dim"))
    csr = _csr(spec)
    mha = PrunedMultiheadAttention.__new__(PrunedMultiheadAttention)
    nn.Module.__init__(mha)
    has_bias = _bool(spec, "bias")
    for c in "qkv":
        mha.register_buffer(f"{c}_weight", store.take(f"{prefix}{c}_weight", (h * d, E), csr))
        b = store.take(f"{prefix}{c}_bias", (h * d,)) if has_bias else None
        mha.register_buffer(f"{c}_bias", b)
    mha.register_buffer("out_weight", store.take(prefix + "out_weight", (E, h * d), csr))
    ob = store.take(prefix + "out_bias", (E,)) if _bool(spec, "out_bias") else None
    mha.register_buffer("out_bias", ob)
    mha.embed_dim, mha.num_heads, mha.head_dim = E, h, d
    mha.batch_first = _bool(spec, "batch_first")
    mha._qkv_same_embed_dim = False
    mha.in_proj_bias = torch.cat([mha.q_bias, mha.k_bias, mha.v_bias]) if has_bias else None
    return mha.eval()


def _build_torch(kind: str, spec: dict, store: _Store, prefix: str) -> nn.Module:
    cls, _ = TORCH_MODULES[kind]
    kwargs = spec.get("kwargs")
    if not isinstance(kwargs, dict):
        raise ModelFileError(f"{prefix}{kind}: kwargs must be an object")
    for k, v in kwargs.items():
        if not isinstance(v, (*_PLAIN, list)) or (
            isinstance(v, list) and not all(type(x) is int for x in v)
        ):
            raise ModelFileError(f"{prefix}{kind}: argument {k} has an unexpected value {v!r}")
    if kind == "LayerNorm":
        kwargs = {**kwargs, "normalized_shape": tuple(kwargs.get("normalized_shape", ()))}
    csr = _csr(spec)
    try:
        skeleton = cls(**kwargs, device="meta")  # shapes only: nothing is allocated
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{prefix}{kind}: {exc}") from None
    state = {
        n: store.take(prefix + n, tuple(t.shape), csr) for n, t in skeleton.state_dict().items()
    }
    dtype = next((t.dtype for t in state.values() if t.is_floating_point()), torch.float32)
    module = cls(**kwargs, dtype=dtype)
    module.load_state_dict(state)
    return module.eval()


def _build_custom(spec: dict, store: _Store, prefix: str, template) -> nn.Module:
    name = spec.get("class")
    where = prefix.rstrip(".") or "the top"
    if template is None:
        raise TypeError(
            f"the exported model holds a {name} at {where!r}, a class whose forward a file "
            f"cannot hold: pass template=<a new {str(name).rsplit('.', 1)[-1]}(...)> to "
            f"load_exported"
        )
    cls = type(template)
    if f"{cls.__module__}.{cls.__qualname__}" != name:
        raise TypeError(f"template at {where!r} is a {cls.__qualname__}, the file holds a {name}")
    csr = _csr(spec)
    params, buffers = spec.get("parameters", []), spec.get("buffers", [])
    attrs = spec.get("attrs", {})
    if not isinstance(attrs, dict) or not all(
        isinstance(v, _PLAIN) and isinstance(k, str) and not k.startswith("_")
        for k, v in attrs.items()
    ):
        raise ModelFileError(f"{where}: attrs must map names to plain values")
    if not (isinstance(params, list) and isinstance(buffers, list)):
        raise ModelFileError(f"{where}: parameters and buffers must be lists of names")
    own = dict(template.named_parameters(recurse=False))
    own.update({n: t for n, t in template.named_buffers(recurse=False) if t is not None})
    if set(params) | set(buffers) != set(own):
        raise ModelFileError(
            f"the template at {where!r} has tensors {sorted(own)}, the file {params + buffers}"
        )
    children = _children(spec, prefix)
    mine = dict(template.named_children())
    if {n for n, _ in children} != set(mine):
        raise ModelFileError(
            f"the template at {where!r} has children {sorted(mine)}, the file "
            f"{sorted(n for n, _ in children)}"
        )
    with torch.no_grad():
        for n in params:
            t = store.take(prefix + n, None, csr)
            setattr(template, n, nn.Parameter(t, requires_grad=False))
        for n in buffers:
            template.register_buffer(n, store.take(prefix + n, None, csr))
    for n, child_spec in children:
        setattr(template, n, build(child_spec, store, f"{prefix}{n}.", mine[n]))
    for k, v in attrs.items():
        setattr(template, k, v)
    return template.eval()
