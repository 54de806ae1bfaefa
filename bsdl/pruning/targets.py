"""Which parameters of a model a pruner removes weights from.

By default (``targets="auto"``) the weight matrices of the layers that carry most of a
network's parameters and whose zeros can be exploited: ``nn.Linear`` (attention output
projections included), the input, hidden and projection weights of ``nn.RNN``/``nn.LSTM``/
``nn.GRU`` and their cells, and the input projections of ``nn.MultiheadAttention``. Biases,
embeddings, normalisation layers and the head (the last ``nn.Linear`` the model registers,
normally the read-out to the outputs) are left dense. Other choices are module types (their
parameters whose name contains ``weight``) and name patterns (exactly the parameters they
match).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from torch import nn

__all__ = ["DEFAULT_TYPES", "select_targets"]

DEFAULT_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear,
    nn.RNNBase,
    nn.RNNCellBase,
    nn.MultiheadAttention,
)


def _compile(pattern: str, name: str):
    if pattern.startswith("re:"):
        try:
            regex = re.compile(pattern[3:])
        except re.error as exc:
            raise ValueError(f"{name}: invalid regular expression {pattern!r}: {exc}") from None
        return lambda s: regex.search(s) is not None
    return lambda s: fnmatch.fnmatchcase(s, pattern)


def _split(spec, name: str) -> tuple[tuple[type, ...], list]:
    """Module types and compiled name patterns of a ``targets``/``exclude`` argument."""
    if isinstance(spec, str | type):
        spec = [spec]
    if not isinstance(spec, Sequence):
        raise TypeError(
            f"{name} must be 'auto', a module type, a name pattern or a list of them, "
            f"got {type(spec).__name__}"
        )
    types, patterns = [], []
    for i, item in enumerate(spec):
        if isinstance(item, type) and issubclass(item, nn.Module):
            types.append(item)
        elif isinstance(item, str) and item:
            patterns.append(_compile(item, name))
        else:
            raise TypeError(
                f"{name}[{i}] must be an nn.Module subclass or a non-empty name pattern "
                f"(glob, or 're:' + regular expression), got {item!r}"
            )
    return tuple(types), patterns


def _head_name(model: nn.Module) -> str | None:
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    return last


def select_targets(
    model: nn.Module,
    targets="auto",
    exclude: Sequence[str] | str = (),
    exclude_head: bool = True,
) -> list[tuple[str, nn.Parameter]]:
    """The ``(name, parameter)`` pairs a pruner works on, in ``named_parameters`` order.

    Parameters
    ----------
    model : nn.Module
    targets : "auto", type, str or list of them, default "auto"
        ``"auto"`` is :data:`DEFAULT_TYPES`. A module type selects the parameters whose own
        name contains ``"weight"`` of every submodule of that type (so biases and
        normalisation scales are never selected by type, and ``nn.Embedding`` or
        ``nn.LayerNorm`` only if named). A string is a pattern on the full parameter name:
        a glob (``"encoder.*.weight"``) or, after ``"re:"``, a regular expression searched
        in the name; it selects exactly the parameters it matches.
    exclude : str or list of str, default ()
        Name patterns (same syntax) removed from the selection.
    exclude_head : bool, default True
        Leave out the weight of the last ``nn.Linear`` in ``model.named_modules()`` order
        (normally the output layer) when it is selected by type.

    Returns
    -------
    list of (str, nn.Parameter)
        Frozen parameters (``requires_grad=False``) are never selected.

    Raises
    ------
    ValueError
        When nothing matches (the message lists the model's parameter names).

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Embedding(10, 4), nn.LSTM(4, 8, batch_first=True),
    ...                     nn.LayerNorm(8), nn.Linear(8, 8), nn.Linear(8, 2))
    >>> [name for name, _ in select_targets(net)]
    ['1.weight_ih_l0', '1.weight_hh_l0', '3.weight']
    >>> [name for name, _ in select_targets(net, targets=["*.weight"], exclude=["0.*", "2.*"])]
    ['3.weight', '4.weight']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(exclude_head, bool):
        raise TypeError(f"exclude_head must be True or False, got {exclude_head!r}")
    types, patterns = _split(DEFAULT_TYPES if targets == "auto" else targets, "targets")
    excluded_types, excluded = _split(exclude, "exclude")
    if excluded_types:
        raise TypeError("exclude must hold name patterns (strings), not module types")
    by_type: set[str] = set()
    if types:
        head = _head_name(model) if exclude_head else None
        for mod_name, module in model.named_modules():
            if not isinstance(module, types) or (head is not None and mod_name == head):
                continue
            for p_name, _p in module.named_parameters(recurse=False):
                if "weight" in p_name:
                    by_type.add(f"{mod_name}.{p_name}" if mod_name else p_name)
    selected = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name not in by_type and not any(match(name) for match in patterns):
            continue
        if any(match(name) for match in excluded):
            continue
        selected.append((name, p))
    if not selected:
        names = [name for name, _ in model.named_parameters()]
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise ValueError(
            f"targets={targets!r} (exclude={exclude!r}, exclude_head={exclude_head}) matches "
            f"no trainable parameter of the model; its parameters are: {shown or 'none'}"
        )
    return selected
