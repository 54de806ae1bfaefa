"""Saving and loading fitted estimators without pickle: one safetensors file.

The file holds every tensor of the fitted state (network weights, pruning masks,
covariance of the selected weights, numeric fitted arrays, posterior draws) and, in the safetensors
header's metadata, JSON for the constructor parameters and the other fitted attributes,
plus a SHA-256 checksum over all of it. Loading verifies the format tag, the checksum and
the class name before anything is rebuilt, so a foreign or modified file raises
:class:`~bsdl.exceptions.ModelFileError` instead of executing or mis-loading anything.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from bsdl.exceptions import ModelFileError
from bsdl.inference import ConstantSchedule, PriorAnnealing
from bsdl.priors import MixtureGaussianPrior
from bsdl.results.posterior import PosteriorDraws

__all__ = ["save_estimator", "load", "register"]

FORMAT = "bsdl"
FORMAT_VERSION = "1"
_REGISTRY: dict[str, type] = {}
_SCHEDULES = {"PriorAnnealing": PriorAnnealing, "ConstantSchedule": ConstantSchedule}


def register(cls: type) -> type:
    """Class decorator: allow :func:`load` to rebuild instances of ``cls``."""
    _REGISTRY[cls.__name__] = cls
    return cls


# ----------------------------------------------------------------------------- encoding
def _encode_param(value):
    if isinstance(value, MixtureGaussianPrior):
        return {"__prior__": value.to_dict()}
    if isinstance(value, PriorAnnealing | ConstantSchedule):
        return {"__schedule__": type(value).__name__, "kwargs": dict(vars(value))}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_param(v) for v in value]}
    if isinstance(value, np.integer | np.floating):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_encode_param(v) for v in value]
    # e.g. a numpy Generator as random_state: not reproducible from a file
    return None


def _decode_param(value):
    if isinstance(value, dict):
        if "__prior__" in value:
            return MixtureGaussianPrior(**value["__prior__"])
        if "__schedule__" in value:
            name = value["__schedule__"]
            if name not in _SCHEDULES:
                raise ModelFileError(f"unknown schedule {name!r} in model file")
            return _SCHEDULES[name](**value["kwargs"])
        if "__tuple__" in value:
            return tuple(_decode_param(v) for v in value["__tuple__"])
        raise ModelFileError("unrecognised parameter encoding in model file")
    if isinstance(value, list):
        return [_decode_param(v) for v in value]
    return value


def _split_state(est) -> tuple[dict[str, torch.Tensor], dict]:
    tensors: dict[str, torch.Tensor] = {}
    attrs: dict = {}
    names = [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
    names += [k for k in getattr(est, "_persist_private", ()) if hasattr(est, k)]
    for name in names:
        value = getattr(est, name)
        if isinstance(value, torch.nn.Module):
            for key, t in value.state_dict().items():
                tensors[f"{name}/{key}"] = t.detach().cpu().contiguous().clone()
            attrs[name] = {"kind": "module"}
        elif isinstance(value, MixtureGaussianPrior):
            attrs[name] = {"kind": "prior", "value": value.to_dict()}
        elif isinstance(value, torch.Tensor):
            tensors[name] = value.detach().cpu().contiguous().clone()
            attrs[name] = {"kind": "tensor"}
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            tensors[name] = torch.from_numpy(np.ascontiguousarray(value).copy())
            attrs[name] = {"kind": "ndarray", "dtype": value.dtype.str}
        elif isinstance(value, np.ndarray):
            attrs[name] = {"kind": "ndarray_obj", "value": value.tolist(), "dtype": value.dtype.str}
        elif isinstance(value, dict) and all(
            isinstance(v, np.ndarray | torch.Tensor) for v in value.values()
        ):
            for key, v in value.items():
                t = torch.as_tensor(np.asarray(v)) if isinstance(v, np.ndarray) else v
                tensors[f"{name}/{key}"] = t.detach().cpu().contiguous().clone()
            kind = (
                "dict_ndarray"
                if all(isinstance(v, np.ndarray) for v in value.values())
                else "dict_tensor"
            )
            attrs[name] = {"kind": kind, "keys": list(value)}
        elif isinstance(value, pd.DataFrame):
            attrs[name] = _encode_frame(name, value, tensors)
        elif isinstance(value, PosteriorDraws):
            attrs[name] = _encode_draws(name, value, tensors)
        elif value is None or isinstance(
            value, bool | int | float | str | np.integer | np.floating
        ):
            attrs[name] = {
                "kind": "scalar",
                "value": value.item() if hasattr(value, "item") else value,
            }
        else:
            raise TypeError(f"cannot save fitted attribute {name!r} of type {type(value).__name__}")
    return tensors, attrs


def _encode_frame(name: str, frame: pd.DataFrame, tensors: dict) -> dict:
    """Numeric columns (and a numeric index) go into tensors bit-exactly; the rest into JSON."""
    columns = []
    for i, col in enumerate(frame.columns):
        series = frame[col]
        if series.dtype.kind in "biuf":
            tensors[f"{name}/col{i}"] = torch.from_numpy(series.to_numpy().copy())
            columns.append({"name": str(col), "dtype": series.dtype.str})
        else:
            columns.append(
                {"name": str(col), "dtype": None, "values": series.astype(object).tolist()}
            )
    index = frame.index
    info = {"kind": "frame", "columns": columns, "index_name": index.name}
    if index.dtype.kind in "biuf":
        tensors[f"{name}/index"] = torch.from_numpy(index.to_numpy().copy())
        info["index_dtype"] = index.dtype.str
    else:
        info["index_values"] = index.astype(object).tolist()
    return info


def _encode_draws(name: str, post: PosteriorDraws, tensors: dict) -> dict:
    """Posterior draws bit-exactly (float64 tensors), dims and coordinates in JSON."""
    for key in post.names:
        tensors[f"{name}/draws/{key}"] = torch.from_numpy(np.array(post[key]))
    stats = post.sample_stats
    for key, value in stats.items():
        tensors[f"{name}/stats/{key}"] = torch.from_numpy(np.array(value))
    coords = {k: [v.item() if hasattr(v, "item") else v for v in c] for k, c in post.coords.items()}
    return {
        "kind": "posterior",
        "names": post.names,
        "stats": list(stats),
        "dims": post.dims,
        "coords": coords,
    }


def _decode_draws(name: str, info: dict, tensors: dict) -> PosteriorDraws:
    return PosteriorDraws(
        {k: tensors[f"{name}/draws/{k}"].numpy() for k in info["names"]},
        sample_stats={k: tensors[f"{name}/stats/{k}"].numpy() for k in info["stats"]},
        dims=info["dims"],
        coords=info["coords"],
    )


def _decode_frame(name: str, info: dict, tensors: dict) -> pd.DataFrame:
    data = {}
    for i, col in enumerate(info["columns"]):
        if col["dtype"] is None:
            data[col["name"]] = col["values"]
        else:
            data[col["name"]] = tensors[f"{name}/col{i}"].numpy().astype(np.dtype(col["dtype"]))
    if "index_dtype" in info:
        index = pd.Index(tensors[f"{name}/index"].numpy().astype(np.dtype(info["index_dtype"])))
    else:
        index = pd.Index(info["index_values"])
    index.name = info["index_name"]
    return pd.DataFrame(data, index=index)


def _checksum(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key]
        h.update(key.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    for key in sorted(meta):
        h.update(key.encode())
        h.update(meta[key].encode())
    return h.hexdigest()


def save_estimator(est, path: str | os.PathLike) -> Path:
    """Write a fitted estimator to ``path`` (safetensors + JSON metadata; no pickle)."""
    from bsdl._version import __version__

    tensors, attrs = _split_state(est)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bsdl_version": __version__,
        "class": type(est).__name__,
        "params": json.dumps({k: _encode_param(v) for k, v in est.get_params(deep=False).items()}),
        "attrs": json.dumps(attrs),
    }
    meta["checksum"] = _checksum(tensors, meta)
    path = Path(path)
    save_file(tensors, str(path), metadata=meta)
    return path


# ----------------------------------------------------------------------------- decoding
def load(path: str | os.PathLike, device: str | None = None):
    """Load an estimator saved with ``est.save(path)``.

    Parameters
    ----------
    path : str or path-like
    device : str, optional
        Where to put the network and every fitted tensor, e.g. ``"cpu"`` for a model
        fitted on a GPU. Default: the device the model was fitted on (its ``device``
        parameter); a CUDA model on a machine without CUDA raises a ``ValueError``
        that suggests ``device="cpu"``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    bsdl.exceptions.ModelFileError
        If the file is not a bsdl model, was modified after saving, or names an
        unknown class.

    Examples
    --------
    >>> import tempfile, os
    >>> import bsdl
    >>> from bsdl.datasets import make_sparse_regression
    >>> X, y = make_sparse_regression(300, 8, random_state=0)
    >>> m = bsdl.SparseMLPRegressor((4,), n_epochs=30, random_state=0).fit(X, y)
    >>> f = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> _ = m.save(f)
    >>> bool((bsdl.load(f).predict(X) == m.predict(X)).all())
    True
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {str(path)!r}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises several types for a bad header
        raise ModelFileError(
            f"{str(path)!r} is not a bsdl model file (not a readable safetensors file: {exc})"
        ) from None
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is not a bsdl model file (no bsdl format tag)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{str(path)!r} has format version {meta.get('format_version')!r}; "
            f"this bsdl reads version {FORMAT_VERSION}"
        )
    expected = meta.pop("checksum", None)
    if expected is None or _checksum(tensors, meta) != expected:
        raise ModelFileError(
            f"{str(path)!r} failed its integrity check: the file was modified after saving"
        )
    cls = _REGISTRY.get(meta.get("class", ""))
    if cls is None:
        raise ModelFileError(
            f"{str(path)!r} holds an unknown estimator class {meta.get('class')!r}"
        )
    try:
        params = {k: _decode_param(v) for k, v in json.loads(meta["params"]).items()}
        attrs = json.loads(meta["attrs"])
    except (KeyError, json.JSONDecodeError, TypeError) as exc:
        raise ModelFileError(f"{str(path)!r} has malformed metadata: {exc}") from None
    if device is not None:
        params["device"] = _check_device(device, "device")
    elif "device" in params:
        saved = _check_device(params["device"], "the saved device")
        if torch.device(saved).type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"{str(path)!r} holds a model fitted on {saved!r}, but CUDA is not available "
                "here: pass device='cpu' to bsdl.load to map it to the CPU"
            )
    est = cls(**params)
    for name, info in attrs.items():
        kind = info["kind"]
        if kind == "module":
            continue
        if kind == "prior":
            value = MixtureGaussianPrior(**info["value"])
        elif kind == "tensor":
            value = tensors[name]
        elif kind == "ndarray":
            value = tensors[name].numpy().astype(np.dtype(info["dtype"]), copy=True)
        elif kind == "ndarray_obj":
            value = np.asarray(info["value"], dtype=np.dtype(info["dtype"]))
        elif kind in ("dict_ndarray", "dict_tensor"):
            value = {k: tensors[f"{name}/{k}"] for k in info["keys"]}
            if kind == "dict_ndarray":
                value = {k: v.numpy().copy() for k, v in value.items()}
        elif kind == "frame":
            value = _decode_frame(name, info, tensors)
        elif kind == "posterior":
            value = _decode_draws(name, info, tensors)
        elif kind == "scalar":
            value = info["value"]
        else:
            raise ModelFileError(f"unknown attribute kind {kind!r} in model file")
        setattr(est, name, value)
    target = None
    for name, info in attrs.items():
        if info["kind"] == "module":
            prefix = f"{name}/"
            state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            module = est._restore_module(state)
            setattr(est, name, module)
            target = next(module.parameters()).device
    if target is not None:  # fitted tensors go where the network is
        for name, info in attrs.items():
            if info["kind"] == "tensor":
                setattr(est, name, getattr(est, name).to(target))
            elif info["kind"] == "dict_tensor":
                setattr(est, name, {k: v.to(target) for k, v in getattr(est, name).items()})
    return est


def _check_device(value, name: str) -> str:
    try:
        torch.device(value)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"{name} must name a torch device such as 'cpu' or 'cuda', got {value!r}"
        ) from None
    return str(value)
