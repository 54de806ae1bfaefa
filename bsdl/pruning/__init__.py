"""Pruning any PyTorch model from your own loop: MGPP and the baselines as step hooks.

::

    from bsdl.pruning import MGPP
    pruner = MGPP(model, final_sparsity=0.9, total_steps=T, n_obs=N)
    for ...:
        loss.backward(); pruner.before_step(); optimizer.step(); pruner.after_step()
    pruner.sparsity()      # measured share of zeros over the targeted weights

:class:`MGPP` (the spike-and-slab prior's gradient, then gradual magnitude pruning),
:class:`GMP`, :class:`MovementPruning`, :class:`PLATON` and :class:`DPF` take the same first
arguments and share :class:`~bsdl.pruning.base.Pruner`: targets, the cubic schedule
(:class:`CubicSchedule`) and masks; ``pattern=(2, 4)`` gives each of them k-of-n blocks.
:class:`StructuredMGPP` and :class:`StructuredGMP` remove whole units, attention heads and
recurrent hidden units (group spike-and-slab prior, :mod:`bsdl.pruning.group_prior`).
Each is also a :class:`bsdl.inference.Callback`, so
``bsdl.inference.train(..., callbacks=[pruner])`` runs it in bsdl's own engine.

:func:`export` then makes the pruned model smaller (dead units removed, CSR where it is
measured faster) with the same outputs; :meth:`ExportedModel.save` and
:func:`load_exported` write and read it with safetensors.
"""

from bsdl.pruning.base import Pruner
from bsdl.pruning.export import ExportedModel, ExportReport, export, load_exported
from bsdl.pruning.magnitude import DPF, GMP
from bsdl.pruning.mgpp import MGPP, default_mgpp_prior
from bsdl.pruning.schedule import CubicSchedule
from bsdl.pruning.scores import PLATON, MovementPruning
from bsdl.pruning.structured import StructuredGMP, StructuredMGPP, StructuredPruner
from bsdl.pruning.targets import DEFAULT_TYPES, select_targets

__all__ = [
    "MGPP",
    "GMP",
    "MovementPruning",
    "PLATON",
    "DPF",
    "StructuredMGPP",
    "StructuredGMP",
    "StructuredPruner",
    "export",
    "load_exported",
    "ExportedModel",
    "ExportReport",
    "Pruner",
    "CubicSchedule",
    "select_targets",
    "DEFAULT_TYPES",
    "default_mgpp_prior",
]
