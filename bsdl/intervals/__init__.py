"""Delta-method uncertainty and the Laplace approximation on the selected subnetwork (L3)."""

from bsdl.intervals.delta import (
    SubnetworkCovariance,
    delta_variance,
    per_sample_jacobian,
    selected_index,
    selected_parameters,
    warn_if_singular,
)
from bsdl.intervals.laplace import SubnetworkLaplace, bic, structure_log_prior

__all__ = [
    "SubnetworkCovariance",
    "SubnetworkLaplace",
    "bic",
    "delta_variance",
    "per_sample_jacobian",
    "selected_index",
    "selected_parameters",
    "structure_log_prior",
    "warn_if_singular",
]
