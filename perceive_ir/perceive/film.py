"""FiLM: feature-wise affine modulation predicted from a conditioning vector.

A guided level with ``C`` channels gets ``Y = X ⊙ (1 + γ) + β`` where ``(γ, β)`` come from a
two-layer MLP of the conditioning vector. The MLP's last layer starts at zero, so ``γ = β = 0``
and ``Y = X`` exactly until training moves it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._validation import check_int, to_input_dtype, to_module_dtype
from ..errors import InvalidValueError

__all__ = ["FiLMHead", "film"]


def film(x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
    """Apply ``x ⊙ (1 + γ) + β`` with per-sample, per-channel ``γ, β``.

    Args:
        x: ``(B, C, H, W)`` feature map.
        gamma: ``(B, C)`` scale offsets (``0`` leaves ``x`` unchanged).
        beta: ``(B, C)`` shifts.

    Returns:
        ``(B, C, H, W)`` in ``x``'s dtype.

    Example:
        >>> import torch
        >>> x = torch.randn(2, 4, 3, 3)
        >>> torch.equal(film(x, torch.zeros(2, 4), torch.zeros(2, 4)), x)
        True
    """
    if x.ndim != 4 or gamma.shape != x.shape[:2] or beta.shape != x.shape[:2]:
        raise InvalidValueError(
            f"FiLM needs x of shape (B, C, H, W) and gamma/beta of shape (B, C); got x {tuple(x.shape)}, "
            f"gamma {tuple(gamma.shape)}, beta {tuple(beta.shape)}."
        )
    gamma = gamma.to(x.dtype)[:, :, None, None]
    beta = beta.to(x.dtype)[:, :, None, None]
    return torch.addcmul(beta, x, 1 + gamma)  # one pass over x, no temporary


class FiLMHead(nn.Module):
    """``cond → Linear → GELU → Linear → (γ, β)``, last layer zero-initialised.

    Args:
        in_dim: Size of the conditioning vector.
        channels: Channels ``C`` of the modulated feature map.
        hidden_dim: Width of the hidden layer.

    Example:
        >>> import torch
        >>> head = FiLMHead(in_dim=10, channels=4, hidden_dim=16)
        >>> gamma, beta = head(torch.randn(2, 10))
        >>> gamma.shape, bool(gamma.abs().sum() == 0)
        (torch.Size([2, 4]), True)
    """

    def __init__(self, in_dim: int, channels: int, hidden_dim: int) -> None:
        super().__init__()
        for name, value in (("in_dim", in_dim), ("channels", channels), ("hidden_dim", hidden_dim)):
            check_int(value, name)
        self.channels = channels
        last = nn.Linear(hidden_dim, 2 * channels)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.mlp = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.GELU(), last)

    def forward(self, cond: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``(B, in_dim)`` conditions to ``(γ, β)``, each ``(B, channels)`` in ``cond``'s dtype."""
        gamma, beta = self.mlp(to_module_dtype(cond, self)).chunk(2, dim=-1)
        return to_input_dtype(gamma, cond.dtype), to_input_dtype(beta, cond.dtype)
