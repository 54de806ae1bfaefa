"""Generic pruning algorithms (layer L2): masks kept as buffers, threshold pruning, input
read-outs and BIC elimination of the weight groups a network declares.

Nothing here names a parameter of a particular network: a network describes its structure
by implementing :class:`bsdl.nn.structure.StructuredNetwork`.
"""

from bsdl.sparsify.bic import bic_simplify, simplify_with_bic
from bsdl.sparsify.linear_path import (
    LinearPathChoice,
    choose_linear_path,
    linear_path_bic,
    linear_path_fit,
    nonlinear_groups,
    rows_needed,
)
from bsdl.sparsify.masks import (
    apply_masks,
    count_nonzero,
    flat_mask,
    get_masks,
    threshold_masks,
)
from bsdl.sparsify.structure import (
    connected_inputs,
    input_inclusion,
    reachable_units,
    simplify_structure,
)

__all__ = [
    "apply_masks",
    "count_nonzero",
    "flat_mask",
    "get_masks",
    "threshold_masks",
    "connected_inputs",
    "reachable_units",
    "input_inclusion",
    "simplify_structure",
    "bic_simplify",
    "simplify_with_bic",
    "choose_linear_path",
    "linear_path_bic",
    "linear_path_fit",
    "rows_needed",
    "nonlinear_groups",
    "LinearPathChoice",
]
