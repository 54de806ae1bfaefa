"""Pruning rules, masks kept as buffers, and structure read-outs (layer L2)."""

from bsdl.sparsify.bic import bic_simplify, recurrent_groups, simplify_recurrent_bic
from bsdl.sparsify.masks import (
    apply_masks,
    count_nonzero,
    flat_mask,
    get_masks,
    threshold_masks,
)
from bsdl.sparsify.recurrent import recurrent_connected_inputs, simplify_recurrent
from bsdl.sparsify.structure import connected_inputs

__all__ = [
    "apply_masks",
    "count_nonzero",
    "flat_mask",
    "get_masks",
    "threshold_masks",
    "connected_inputs",
    "recurrent_connected_inputs",
    "simplify_recurrent",
    "bic_simplify",
    "recurrent_groups",
    "simplify_recurrent_bic",
]
