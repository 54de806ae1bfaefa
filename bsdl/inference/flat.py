"""One contiguous buffer for all parameters and one for all gradients.

Every parameter of the module becomes a view into ``FlatParameters.data`` and its
``.grad`` a view into ``FlatParameters.grad``. Autograd accumulates into the existing
``.grad`` in place, so after ``backward()`` the whole gradient is one tensor: the prior
gradient, the optimiser kernels and the mask are then single elementwise kernels,
whatever the number of layers.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FlatParameters"]


class FlatParameters:
    """Flatten ``params`` into shared storage (see module docstring).

    Call :meth:`release` when training ends so the module owns independent tensors again.
    """

    def __init__(self, params: list[nn.Parameter]) -> None:
        if not params:
            raise ValueError("the module has no trainable parameters")
        self.params = list(params)
        self.shapes = [p.shape for p in self.params]
        self.numels = [p.numel() for p in self.params]
        with torch.no_grad():
            self.data = torch.cat([p.detach().reshape(-1) for p in self.params])
        self.grad = torch.zeros_like(self.data)
        offset = 0
        for p, n in zip(self.params, self.numels):
            p.data = self.data[offset : offset + n].view(p.shape)
            p.grad = self.grad[offset : offset + n].view(p.shape)
            offset += n

    def __len__(self) -> int:
        return self.data.numel()

    def zero_grad(self) -> None:
        self.grad.zero_()

    def flatten(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        """Concatenate per-parameter tensors (e.g. masks) in this object's order."""
        return torch.cat([t.reshape(-1).to(self.data) for t in tensors])

    def release(self) -> None:
        """Give each parameter its own storage back and drop the gradient views."""
        for p in self.params:
            p.data = p.data.clone()
            p.grad = None
