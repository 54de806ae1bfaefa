"""Turn a pruned model into a smaller one: dead units removed, CSR where it is measured faster.

:func:`export` copies the model (the original is not changed) and, in every
``nn.Sequential`` it holds, treats each run ``Linear, activations, Linear, ...`` (the
activations elementwise, see :data:`ELEMENTWISE`) as a stack:

1. **Dead units.** A hidden unit whose outgoing weights are all zero is removed with its
   incoming row; a unit whose incoming weights are all zero outputs the constant
   ``act(bias)``, which is folded into the next layer's bias before the unit is removed.
   Repeated until nothing changes. Inputs of the first layer that no weight reads are
   dropped (the layer then selects the inputs it reads), so the outputs are those of the
   masked model up to float rounding.
2. **Format.** Each Linear of such a stack becomes a
   :class:`~bsdl.pruning.sparse_linear.PrunedLinear` whose weight is stored dense or in CSR.
   With ``csr="auto"`` the dense forward and that of every sparse kernel available here
   (torch CSR, SciPy, MKL through sparse-dot-mkl, a compiled numba kernel; see
   :mod:`bsdl.pruning.sparse_kernels`) are timed on this machine, at ``batch_size`` rows
   (or the rows the stack sees in one forward of ``example_input``) and the current torch
   thread count (interleaved rounds, medians:
   :func:`~bsdl.pruning.export_timing.fastest`), and the fastest is kept (the timings are
   in the report). Then the whole stack is timed three ways: all layers dense, the layers
   as chosen, and, when numba is installed, in one compiled call
   (:class:`~bsdl.pruning.export_fused.FusedSparseStack`: every layer in CSR, the
   activations inside the loop); the fastest is kept (a fused stack takes the first
   Linear's place and the others become ``nn.Identity``). The model's own layers are
   timed beside them, so ``report.speedup`` is the measured time of the stacks and LSTM
   layers as they came over their time as exported.

Before that, structures pruned whole (see :mod:`bsdl.pruning.export_structured`) shrink:
attention heads whose output columns are zero are removed from ``nn.MultiheadAttention``
and from Hugging-Face-style ``q_proj``/``k_proj``/``v_proj``/``o_proj`` modules, and for each
``links`` pair ``{producer: consumer}`` (as given to the structured pruners) the producer's
outputs the consumer does not read are removed from both (Linear rows and columns, the
hidden units of a one-layer recurrent module).

A one-layer, unidirectional ``nn.LSTM`` with zeros in its weights becomes a
:class:`~bsdl.pruning.sparse_rnn.PrunedLSTM` in the fastest sparse format, or a
:class:`~bsdl.pruning.export_fused.FusedSparseLSTM` (its time loop compiled, with numba),
when that beats the fused dense ``nn.LSTM`` on 16 steps of ``batch_size`` sequences, or on
the sequences it sees in ``example_input`` (``csr="auto"``), or in the format asked for (the
report has a row for it).

Other Linear layers outside an ``nn.Sequential`` are left as they are: their owner's
``forward`` may read ``.weight`` itself (as ``nn.MultiheadAttention`` does).
:meth:`ExportedModel.save` writes a safetensors file (matrices in CSR when that takes
fewer bytes, the structure as JSON in the header; no pickle) and :func:`load_exported`
reads it back (a model of the user's own class with a ``template`` of it; see
:mod:`bsdl.pruning.export_io`).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import asdict, dataclass, field

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from bsdl._validation import check_in_options, check_positive_int
from bsdl.exceptions import ModelFileError
from bsdl.pruning import export_io
from bsdl.pruning.export_fused import FusedSparseStack
from bsdl.pruning.export_structured import _replace, shrink_structures
from bsdl.pruning.export_timing import choose_layer, choose_lstm, choose_stack, input_shapes
from bsdl.pruning.groups import check_links, linear_runs
from bsdl.pruning.sparse_kernels import SPARSE_FORMATS
from bsdl.pruning.sparse_linear import PrunedLinear
from bsdl.pruning.sparse_rnn import sparse_lstm_supported

__all__ = ["export", "ExportedModel", "ExportReport", "load_exported", "ELEMENTWISE"]

# Elementwise activations a stack may hold between its Linear layers (name -> type, the
# constructor arguments that saving records).
ELEMENTWISE: dict[str, tuple[type[nn.Module], tuple[str, ...]]] = {
    "ReLU": (nn.ReLU, ()),
    "LeakyReLU": (nn.LeakyReLU, ("negative_slope",)),
    "ELU": (nn.ELU, ("alpha",)),
    "GELU": (nn.GELU, ("approximate",)),
    "SiLU": (nn.SiLU, ()),
    "Mish": (nn.Mish, ()),
    "Tanh": (nn.Tanh, ()),
    "Sigmoid": (nn.Sigmoid, ()),
    "Softplus": (nn.Softplus, ("beta", "threshold")),
    "Hardtanh": (nn.Hardtanh, ("min_val", "max_val")),
    "Identity": (nn.Identity, ()),
    "Dropout": (nn.Dropout, ("p",)),  # identity at inference
}
_FILE_TAG = "bsdl.pruning.export/2"


@dataclass
class ExportReport:
    """What :func:`export` did.

    Attributes
    ----------
    params_before, params_after : int
        Numbers stored by the model and by the exported model (parameters and buffers;
        for a CSR matrix its non-zero values, not its index arrays). ``params_after`` depends
        on the format chosen: a layer kept dense stores its zeros.
    bytes_before, bytes_after : int
        Bytes of those tensors in memory (index arrays included).
    layers : list of dict
        One entry per exported Linear: ``name``, ``shape_before``, ``shape_after``,
        ``nnz``, ``format``, ``seconds`` (``{format: seconds per forward}`` measured by
        ``csr="auto"``, else None) and, from it, ``dense_seconds`` and ``csr_seconds``
        (torch CSR); for a stack's layers also ``stack_seconds`` (``{"original": s,
        "dense": s, "layers": s, "fused": s}``: the whole stack as it came, dense without
        its dead units, with the layers as chosen one by one, and fused when numba is
        installed; None when not timed), and ``timed_rows`` (the rows of the timing
        input: ``batch_size``, or the rows seen in ``example_input``; None when not
        timed).
        ``format`` is ``"fused"`` for the layers of a fused stack or LSTM.
    structures : list of dict
        One entry per structure shrunk before the stacks: ``name``, ``kind`` (``"head"``,
        ``"unit"``, ``"rnn_unit"``), ``groups_before`` and ``groups_after``.
    timed : list of dict
        One entry per stack or LSTM layer that ``csr="auto"`` timed as a whole: ``name``,
        ``kind`` (``"stack"``, ``"lstm"``), ``dense_seconds`` (its forward as it came: the
        model's own layers, after any ``links`` structures were shrunk) and ``seconds`` (the
        forward kept), medians per call at the export's batch size.
    nonzero_after : int or None
        Non-zero numbers in the exported model, whatever the format chosen (None for a
        report read from a file written before it was recorded).

    Examples
    --------
    >>> from torch import nn
    >>> from bsdl.pruning import export
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> report = export(net, csr="never").report
    >>> report.params_before, report.params_after, report.layers[0]["format"]
    (11, 11, 'dense')
    """

    params_before: int
    params_after: int
    bytes_before: int
    bytes_after: int
    layers: list = field(default_factory=list)
    structures: list = field(default_factory=list)
    timed: list = field(default_factory=list)
    nonzero_after: int | None = None

    @property
    def speedup(self) -> float | None:
        """Measured seconds of the model's own layers over those of the exported ones,
        summed over the stacks and LSTM layers timed by ``csr="auto"`` (``timed``); None
        when nothing was timed."""
        if not self.timed:
            return None
        dense = sum(r["dense_seconds"] for r in self.timed)
        return dense / sum(r["seconds"] for r in self.timed)

    def to_dict(self) -> dict:
        """The report as plain Python types."""
        return asdict(self)

    def __str__(self) -> str:
        lines = [
            f"parameters {self.params_before} -> {self.params_after}"
            + ("" if self.nonzero_after is None else f" ({self.nonzero_after} non-zero)")
            + f", bytes {self.bytes_before} -> {self.bytes_after}",
            f"{'layer':<24}{'shape':>24}{'nnz':>10}{'format':>8}{'dense us':>10}{'csr us':>10}",
        ]
        lines[1:1] = [
            f"{r['kind']} {r['name']}: {r['groups_before']} -> {r['groups_after']}"
            for r in self.structures
        ]
        for r in self.layers:
            shape = f"{tuple(r['shape_before'])}->{tuple(r['shape_after'])}"
            t_d, t_c = (
                "-" if r[k] is None else f"{1e6 * r[k]:.1f}"
                for k in ("dense_seconds", "csr_seconds")
            )
            name, nnz, fmt = r["name"], r["nnz"], r["format"]
            lines.append(f"{name:<24}{shape:>24}{nnz:>10}{fmt:>8}{t_d:>10}{t_c:>10}")
        for r in self.timed:
            lines.append(
                f"{r['kind']} {r['name'] or '(top)'}: {1e6 * r['dense_seconds']:.1f} us as it "
                f"came, {1e6 * r['seconds']:.1f} us exported"
            )
        if self.timed:
            lines.append(f"measured speed-up {self.speedup:.2f}x")
        return "\n".join(lines)


class ExportedModel(nn.Module):
    """The exported network (``.module``) with its :class:`ExportReport` (``.report``).

    Calling it calls ``.module``. It is in eval mode and its tensors are buffers.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import export
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    >>> with torch.no_grad():
    ...     _ = net[2].weight[0, 1].zero_()  # hidden unit 1 feeds nothing
    >>> small = export(net, csr="never")
    >>> small.module[0]
    PrunedLinear(in_features=3 (reads 3), out_features=1, format='dense', nnz=3, bias=True)
    """

    def __init__(self, module: nn.Module, report: ExportReport | None = None) -> None:
        super().__init__()
        self.module = module
        self.report = report

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def save(self, path: str | os.PathLike) -> int:
        """Write the exported model to a safetensors file; returns the file's size in bytes.

        The structure goes to the header as JSON, the tensors to the file (each 2-D weight
        in CSR when that is smaller), the report to the header too; no pickle. A module of
        the user's own class is recorded by name, tensors, plain attributes and children:
        :func:`load_exported` then needs a ``template`` of that class (see
        :mod:`bsdl.pruning.export_io`).
        """
        spec, tensors = export_io.describe(self.module, "")
        metadata = {"format": _FILE_TAG, "spec": json.dumps(spec)}
        if self.report is not None:
            metadata["report"] = json.dumps(self.report.to_dict())
        save_file(tensors, os.fspath(path), metadata=metadata)
        return os.path.getsize(path)


def _numbers(module: nn.Module) -> tuple[int, int, int]:
    """Stored numbers (floating-point tensors: weights, biases, CSR values; not index
    arrays), the non-zero ones among them, and bytes of all tensors."""
    count = nonzero = nbytes = 0
    for sub in module.modules():
        for name, t in [*sub.named_parameters(recurse=False), *sub.named_buffers(recurse=False)]:
            if t is None:
                continue
            nbytes += t.numel() * t.element_size()
            if t.is_floating_point() and not (
                isinstance(sub, FusedSparseStack) and name == "params"
            ):
                count += t.numel()
                nonzero += int(torch.count_nonzero(t.detach()))
    return count, nonzero, nbytes


@torch.no_grad()
def _compact(linears: list[nn.Linear], acts: list[list[nn.Module]]):
    """Weights, biases and the first layer's input index of a stack without dead units."""
    ws = [lin.weight.detach().clone() for lin in linears]
    bs = [None if lin.bias is None else lin.bias.detach().clone() for lin in linears]
    changed = True
    while changed:
        changed = False
        for k in range(len(ws) - 1):
            a, b = ws[k], ws[k + 1]
            unused = (b == 0).all(dim=0)
            const = (a == 0).all(dim=1) & ~unused
            drop = unused | const
            if not bool(drop.any()):
                continue
            if bool(const.any()):
                level = bs[k][const] if bs[k] is not None else a.new_zeros(int(const.sum()))
                for act in acts[k]:
                    level = act(level)
                shift = b[:, const] @ level
                bs[k + 1] = shift if bs[k + 1] is None else bs[k + 1] + shift
            keep = ~drop
            ws[k], ws[k + 1] = a[keep], b[:, keep]
            bs[k] = None if bs[k] is None else bs[k][keep]
            changed = True
    read = (ws[0] != 0).any(dim=0)
    index = None
    if not bool(read.all()):
        index = torch.nonzero(read).reshape(-1)
        ws[0] = ws[0][:, read]
    return ws, bs, index


def _lstm_row(name: str, lstm: nn.LSTM, new, seconds) -> dict:
    nnz = int((lstm.weight_ih_l0 != 0).sum() + (lstm.weight_hh_l0 != 0).sum())
    shape = [4 * lstm.hidden_size, lstm.input_size + lstm.hidden_size]
    return {
        "name": name,
        "shape_before": shape,
        "shape_after": shape,
        "nnz": nnz,
        "format": "dense" if new is None else new.format,
        "dense_seconds": None if seconds is None else seconds["dense"],
        "csr_seconds": None if seconds is None else seconds["csr"],
        "seconds": seconds,
    }


def export(
    model: nn.Module,
    *,
    csr: str = "auto",
    batch_size: int = 1,
    links: dict | None = None,
    example_input=None,
) -> ExportedModel:
    """A smaller copy of a pruned model with the same outputs (see the module docstring).

    Parameters
    ----------
    model : nn.Module
        The pruned model (pruned weights are exact zeros); it is not changed.
    csr : {"auto", "always", "never", "csr", "scipy", "mkl", "numba", "fused"}, default "auto"
        Format of the stacks' Linear layers and of LSTM layers: ``"auto"`` times the dense
        layer and every sparse kernel that imports here
        (:func:`~bsdl.pruning.sparse_kernels.available_formats`), then the fused stack
        or LSTM (with numba), and keeps the fastest; ``"never"`` keeps them dense;
        ``"always"`` is torch CSR (``"csr"``); a kernel's name forces it; ``"fused"``
        forces the fused modules (needs numba).
    batch_size : int, default 1
        Rows of the input the formats are timed on (sequences, for an LSTM layer).
    links : dict, optional
        ``{producer module name: consumer module name}``, as given to
        :class:`~bsdl.pruning.StructuredMGPP`: linked units the consumer no longer reads
        are removed.
    example_input : Tensor or tuple of Tensor, optional
        An input of the model as it will be used (its positional arguments): the model is
        run on it once and each stack and LSTM layer is timed at the shape it saw there
        (:func:`~bsdl.pruning.export_timing.input_shapes`) instead of ``batch_size`` rows:
        e.g. a language model's decoder reads every position of a sequence at once while
        its LSTM reads one sequence. Layers the example does not reach use
        ``batch_size``.

    Returns
    -------
    ExportedModel
        In eval mode; ``.report`` says what changed.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import export
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    >>> with torch.no_grad():
    ...     _ = net[0].weight[:, 2:].zero_()   # inputs 2 and 3 are never read
    ...     _ = net[2].weight[:, :5].zero_()   # hidden units 0..4 feed nothing
    >>> small = export(net, csr="never")
    >>> small.report.layers[0]["shape_after"], small.report.layers[1]["shape_after"]
    ([3, 2], [1, 3])
    >>> x = torch.randn(5, 4)
    >>> bool(torch.allclose(small(x), net(x), atol=1e-6))
    True
    >>> sparse = nn.Sequential(nn.Linear(4, 8))
    >>> with torch.no_grad():
    ...     _ = sparse[0].weight[::2, ::2].zero_()
    >>> timed = export(sparse, example_input=torch.randn(7, 4))  # timed at the 7 rows given
    >>> timed.report.layers[0]["timed_rows"]
    7
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    csr = check_in_options(csr, "csr", ("auto", "always", "never", *SPARSE_FORMATS, "fused"))
    batch_size = check_positive_int(batch_size, "batch_size")
    links = check_links(model, links)
    params_before, _, bytes_before = _numbers(model)
    work = copy.deepcopy(model).eval()
    if isinstance(work, nn.Linear):
        work = nn.Sequential(work)
    shapes = {} if example_input is None else input_shapes(work, example_input)
    work, structures = shrink_structures(work, links)
    rows, timed = [], []
    with torch.no_grad():
        for seq_name, seq in list(work.named_modules()):
            if not isinstance(seq, nn.Sequential):
                continue
            for run in linear_runs(seq):
                prefix = f"{seq_name}." if seq_name else ""
                rows_timed = shapes.get(f"{prefix}{run[0]}", (batch_size,))[0]
                linears = [seq[i] for i in run]
                acts = [list(seq[i + 1 : j]) for i, j in zip(run, run[1:])]
                ws, bs, index = _compact(linears, acts)
                layer_csr = "numba" if csr == "fused" else csr
                layers, dense, run_rows = [], [], []
                for pos, (i, lin, w, b) in enumerate(zip(run, linears, ws, bs)):
                    in_features = lin.in_features if pos == 0 else ws[pos - 1].shape[0]
                    idx = index if pos == 0 else None
                    layer, seconds = choose_layer(w, b, idx, in_features, layer_csr, rows_timed)
                    seq[i] = layer
                    layers.append(layer)
                    if csr == "auto":
                        dense.append(
                            layer
                            if layer.format == "dense"
                            else PrunedLinear(w, b, idx, in_features, "dense")
                        )
                    run_rows.append(
                        {
                            "name": f"{seq_name}.{i}" if seq_name else str(i),
                            "shape_before": list(lin.weight.shape),
                            "shape_after": [w.shape[0], w.shape[1]],
                            "nnz": layer.nnz,
                            "format": layer.format,
                            "dense_seconds": None if seconds is None else seconds["dense"],
                            "csr_seconds": None if seconds is None else seconds["csr"],
                            "seconds": seconds,
                            "stack_seconds": None,
                            "timed_rows": None if seconds is None else rows_timed,
                        }
                    )
                kind, fused, stack_seconds = choose_stack(
                    seq, run, linears, layers, dense, ws, bs, index, linears[0].in_features,
                    csr, rows_timed,
                )  # fmt: skip
                for row in run_rows:
                    row["stack_seconds"] = stack_seconds
                    if kind != "layers":
                        row["format"] = kind
                if fused is not None:  # the stack in one module; its other places keep
                    seq[run[0]] = fused  # the Sequential's indices as Identity
                    for i in range(run[0] + 1, run[-1] + 1):
                        seq[i] = nn.Identity()
                elif kind == "dense":
                    for i, layer in zip(run, dense):
                        seq[i] = layer
                if stack_seconds is not None:
                    timed.append(
                        {
                            "name": f"{prefix}{run[0]}-{run[-1]}",
                            "kind": "stack",
                            "dense_seconds": stack_seconds["original"],
                            "seconds": stack_seconds[kind],
                        }
                    )
                rows += run_rows
        for name, mod in list(work.named_modules()):
            if sparse_lstm_supported(mod) and csr != "never":
                batch, steps = shapes.get(name, (batch_size, 16))
                new, seconds = choose_lstm(mod, csr, batch, steps)
                if new is not None:
                    _replace(work, name, new)
                rows.append(_lstm_row(name, mod, new, seconds))
                if seconds is not None:
                    kept = "dense" if new is None else new.format
                    timed.append(
                        {
                            "name": name,
                            "kind": "lstm",
                            "dense_seconds": seconds["dense"],
                            "seconds": seconds[kept],
                        }
                    )
    exported = ExportedModel(work).eval()
    params_after, nonzero_after, bytes_after = _numbers(work)
    exported.report = ExportReport(
        params_before,
        params_after,
        bytes_before,
        bytes_after,
        layers=rows,
        structures=structures,
        timed=timed,
        nonzero_after=nonzero_after,
    )
    return exported


# ---------------------------------------------------------------------------- save / load
def load_exported(path: str | os.PathLike, template: nn.Module | None = None) -> ExportedModel:
    """Read a model written by :meth:`ExportedModel.save` (safetensors, no pickle).

    Parameters
    ----------
    path : str or PathLike
    template : nn.Module, optional
        Needed when the exported model holds modules of the user's own classes (a model
        class with its own ``forward``, as a language model around an ``nn.LSTM``): a new
        instance of the top class (any weights, built with the same arguments); its
        children, tensors and plain attributes are replaced by the file's. See
        :mod:`bsdl.pruning.export_io` for the modules a file rebuilds on its own.

    Raises
    ------
    ModelFileError
        (a ``ValueError``) When the file is not an exported model, or its tensors or
        structure were changed (every tensor must fit the structure, none may be extra).
    TypeError
        When the file needs a ``template`` and none, or one of another class, is given.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> from torch import nn
    >>> from bsdl.pruning import export, load_exported
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    >>> small = export(net, csr="never")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "net.safetensors")
    ...     _ = small.save(path)
    ...     back = load_exported(path)
    >>> x = torch.randn(2, 3)
    >>> bool(torch.equal(back(x), small(x)))
    True
    """
    try:
        with safe_open(os.fspath(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise ModelFileError(f"{path!s} is not a readable safetensors file: {exc}") from None
    if metadata.get("format") != _FILE_TAG:
        raise ModelFileError(
            f"{path!s} was not written by ExportedModel.save (of this version: "
            f"format {metadata.get('format')!r}, expected {_FILE_TAG!r})"
        )
    if template is not None and not isinstance(template, nn.Module):
        raise TypeError(f"template must be a torch.nn.Module, got {type(template).__name__}")
    store = export_io._Store(tensors)
    try:
        spec = json.loads(metadata["spec"])
        module = export_io.build(spec, store, "", template)
        store.check_all_used()
        report = None
        if "report" in metadata:
            report = ExportReport(**json.loads(metadata["report"]))
    except ModelFileError as exc:
        raise ModelFileError(f"{path!s}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as exc:
        if isinstance(exc, TypeError) and "template" in str(exc):
            raise
        raise ModelFileError(
            f"{path!s}: the tensors do not fit the stored structure ({exc})"
        ) from None
    return ExportedModel(module, report).eval()
