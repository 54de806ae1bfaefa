"""Delta-method uncertainty on the selected subnetwork (layer L3)."""

from bsdl.intervals.delta import (
    SubnetworkCovariance,
    delta_variance,
    per_sample_jacobian,
    selected_index,
    selected_parameters,
)

__all__ = [
    "SubnetworkCovariance",
    "delta_variance",
    "per_sample_jacobian",
    "selected_index",
    "selected_parameters",
]
