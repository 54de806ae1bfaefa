r"""Asymptotic normality on the selected weights: Jacobians, Fisher information, delta method.

For the selected (non-zero) weights :math:`\gamma` of a fitted network,

.. math::

    \operatorname{Var}[\hat f(x)] \approx \nabla_\gamma f(x)^\top (n \hat I_\gamma)^{-1}
    \nabla_\gamma f(x),

with :math:`n\hat I_\gamma = \sum_i J_i^\top \Lambda_i J_i` the (expected, generalised
Gauss-Newton) Fisher information of the non-zero weights: :math:`J_i` is the Jacobian of
the network output for sample :math:`i` and :math:`\Lambda_i` the Hessian of the negative
log-likelihood with respect to that output (:math:`1/\sigma^2` for a Gaussian, the
multinomial covariance for a softmax). Jacobians are computed with ``torch.func``
(``vmap`` over samples of ``jacrev``), in chunks, never in a per-sample Python loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from bsdl.exceptions import SingularFisherWarning

__all__ = [
    "selected_index",
    "selected_parameters",
    "per_sample_jacobian",
    "delta_variance",
    "SubnetworkCovariance",
    "warn_if_singular",
]


def warn_if_singular(rank: int, dim: int, *, stacklevel: int = 2) -> None:
    """Warn (:class:`~bsdl.exceptions.SingularFisherWarning`) when ``rank < dim``."""
    if rank < dim:
        warnings.warn(
            f"the Fisher information of the {dim} selected weights has rank {rank}; "
            "using its pseudo-inverse (standard errors ignore the null directions)",
            SingularFisherWarning,
            stacklevel=stacklevel,
        )


def selected_index(module: nn.Module, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Flat indices of the selected entries of each parameter (those with none are omitted)."""
    out = {}
    for name, _ in module.named_parameters():
        m = masks.get(name)
        if m is None:
            continue
        idx = torch.nonzero(m.reshape(-1), as_tuple=False).reshape(-1)
        if idx.numel():
            out[name] = idx
    return out


def selected_parameters(
    module: nn.Module, index: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, Callable[[torch.Tensor], dict[str, torch.Tensor]]]:
    """The selected weights as one flat vector, and a map back to a full parameter dict.

    ``params_of(theta)`` returns every parameter and buffer of ``module`` with the selected
    entries replaced by ``theta`` (differentiably), ready for
    ``torch.func.functional_call(module, params_of(theta), args)``.
    """
    base = {name: p.detach() for name, p in module.named_parameters()}
    base.update({name: b for name, b in module.named_buffers()})
    # the index may come from elsewhere (e.g. a file loaded on another device)
    index = {name: ix.to(base[name].device) for name, ix in index.items()}
    names = list(index)
    sizes = [int(index[n].numel()) for n in names]
    theta = (
        torch.cat([base[n].reshape(-1)[index[n]] for n in names])
        if names
        else torch.zeros(0, device=next(module.parameters()).device)
    )

    def params_of(th: torch.Tensor) -> dict[str, torch.Tensor]:
        params = dict(base)
        for n, piece in zip(names, torch.split(th, sizes)):
            params[n] = base[n].reshape(-1).scatter(0, index[n], piece).view_as(base[n])
        return params

    return theta, params_of


def per_sample_jacobian(
    module: nn.Module,
    inputs: torch.Tensor,
    index: dict[str, torch.Tensor],
    *,
    output_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    chunk_size: int = 2048,
) -> torch.Tensor:
    """Jacobian of each sample's output with respect to the selected weights.

    Parameters
    ----------
    module : nn.Module
        Maps a batch ``(b, ...)`` to outputs ``(b, k)`` (or ``(b,)``).
    inputs : Tensor
        ``(N, ...)`` samples.
    index : dict
        From :func:`selected_index`: which entries of which parameters are free.
    output_fn : callable, optional
        Applied to the module output of one sample before differentiation (e.g. softmax).
    chunk_size : int
        Samples per vectorised call (bounds memory at ``chunk_size * k * d`` floats).

    Returns
    -------
    Tensor of shape ``(N, k, d)``: ``k`` outputs, ``d`` selected weights.
    """
    theta, params_of = selected_parameters(module, index)

    def f(th: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        out = functional_call(module, params_of(th), (x.unsqueeze(0),)).reshape(-1)
        return output_fn(out) if output_fn is not None else out

    jac = vmap(jacrev(f), in_dims=(None, 0))
    with torch.no_grad():
        pieces = [jac(theta, chunk) for chunk in torch.split(inputs, chunk_size)]
    return torch.cat(pieces) if pieces else theta.new_zeros((0, 1, theta.numel()))


def delta_variance(jacobian: torch.Tensor, covariance: torch.Tensor) -> torch.Tensor:
    """``diag(J C J^T)`` per sample and output: ``(N, k, d), (d, d) -> (N, k)``."""
    jc = jacobian.to(covariance.dtype)
    return torch.einsum("nkd,de,nke->nk", jc, covariance, jc).clamp_min(0.0)


class SubnetworkCovariance:
    """Inverse Fisher information of the selected weights, with a guarded pseudo-inverse.

    Parameters
    ----------
    information : Tensor
        ``(d, d)`` symmetric PSD matrix ``n * I_gamma`` (computed in float64).
    rcond : float
        Eigenvalues below ``rcond * max_eigenvalue`` are treated as zero
        (a :class:`~bsdl.exceptions.SingularFisherWarning` is raised).

    Attributes
    ----------
    covariance : Tensor
        ``(d, d)`` (pseudo-)inverse.
    logdet : float
        Log-determinant of the information over its non-null eigenvalues.
    rank : int
    """

    def __init__(self, information: torch.Tensor, rcond: float = 1e-10, warn: bool = True) -> None:
        info = information.to(torch.float64)
        info = 0.5 * (info + info.T)
        evals, evecs = torch.linalg.eigh(info)
        top = float(evals.max()) if evals.numel() else 0.0
        keep = (
            evals > rcond * max(top, 0.0) if top > 0 else torch.zeros_like(evals, dtype=torch.bool)
        )
        self.rank = int(keep.sum())
        self.dim = int(evals.numel())
        if warn:
            warn_if_singular(self.rank, self.dim, stacklevel=4)
        inv = torch.where(keep, 1.0 / torch.where(keep, evals, torch.ones_like(evals)), 0.0)
        self.covariance = (evecs * inv) @ evecs.T
        self.logdet = float(torch.log(evals[keep]).sum()) if self.rank else 0.0
        self.information = info

    @classmethod
    def from_jacobian(
        cls,
        jacobian: torch.Tensor,
        output_hessian: torch.Tensor | float = 1.0,
        *,
        ridge: float = 0.0,
        rcond: float = 1e-10,
        warn: bool = True,
    ) -> SubnetworkCovariance:
        """Build from per-sample Jacobians ``(N, k, d)`` and the NLL Hessian in the outputs.

        ``output_hessian`` is a scalar (Gaussian: ``1/sigma^2``) or ``(N, k, k)``.
        ``ridge`` adds ``ridge * I`` (e.g. the slab prior precision).
        """
        j = jacobian.to(torch.float64)
        if isinstance(output_hessian, torch.Tensor) and output_hessian.ndim == 3:
            info = torch.einsum("nkd,nkl,nle->de", j, output_hessian.to(torch.float64), j)
        else:
            info = float(output_hessian) * torch.einsum("nkd,nke->de", j, j)
        if ridge:
            info = info + ridge * torch.eye(info.shape[0], dtype=info.dtype, device=info.device)
        return cls(info, rcond=rcond, warn=warn)
