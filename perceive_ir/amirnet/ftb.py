"""AMIRNet's feature transform block (FTB): a NAFNet block steered by a condition vector.

Six quantities of a :class:`~perceive_ir.amirnet.nafnet.NAFBlock` are predicted from the
condition (e.g. the soft memberships of a :class:`~perceive_ir.amirnet.tree.DegradationTree`)
by one linear layer each, per sample:

* the scale and shift of both LayerNorms,
* a per-channel modulation of both SimpleGate outputs,
* both residual scales ``β`` and ``γ``.

Each predictor starts with zero weights and a bias equal to NAFNet's initial value (scale 1,
shift 0, modulation 1, ``β = γ = 0``), so at initialisation an FTB *is* a plain NAFNet block
for any condition. With a constant condition it stays exactly a plain NAFNet block whose
parameters are the predicted values (:meth:`FeatureTransformBlock.to_nafblock`).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor, nn

from .._validation import check_embedding, check_int, to_input_dtype, to_module_dtype
from ..errors import InvalidTypeError, InvalidValueError
from .nafnet import NAFBlock, SimpleGate, layer_norm_2d

__all__ = ["FeatureTransformBlock"]


def _predictor(cond_dim: int, out: int, init: float) -> nn.Linear:
    layer = nn.Linear(cond_dim, out)
    nn.init.zeros_(layer.weight)
    nn.init.constant_(layer.bias, init)
    return layer


class FeatureTransformBlock(nn.Module):
    """A NAFNet block whose norms, gates and residual scales are predicted from a condition.

    Args:
        channels: Input and output channels ``C``.
        cond_dim: Size of the condition vector (``tree.cond_dim``).
        dw_expand: Channel expansion before the depthwise conv (NAFNet: 2).
        ffn_expand: Channel expansion of the feed-forward part (NAFNet: 2).
        eps: LayerNorm epsilon (NAFNet: 1e-6).

    Example:
        >>> import torch
        >>> ftb = FeatureTransformBlock(16, cond_dim=15)
        >>> x, cond = torch.randn(2, 16, 8, 8), torch.rand(2, 15)
        >>> ftb(x, cond).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(
        self, channels: int, cond_dim: int, dw_expand: int = 2, ffn_expand: int = 2, eps: float = 1e-6
    ) -> None:
        super().__init__()
        check_int(cond_dim, "cond_dim")
        # the convolutions come from a plain block so that both are initialised identically
        plain = NAFBlock(channels, dw_expand, ffn_expand)
        self.channels = channels
        self.cond_dim = cond_dim
        self.eps = eps
        self.conv1, self.conv2, self.sca, self.conv3 = plain.conv1, plain.conv2, plain.sca, plain.conv3
        self.conv4, self.conv5 = plain.conv4, plain.conv5
        self.gate = SimpleGate()
        gate1, gate2 = plain.conv3.in_channels, plain.conv5.in_channels
        self.norm1_affine = _predictor(cond_dim, 2 * channels, 0.0)
        self.norm2_affine = _predictor(cond_dim, 2 * channels, 0.0)
        with torch.no_grad():  # scale part starts at 1, shift part at 0
            self.norm1_affine.bias[:channels] = 1.0
            self.norm2_affine.bias[:channels] = 1.0
        self.gate1_scale = _predictor(cond_dim, gate1, 1.0)
        self.gate2_scale = _predictor(cond_dim, gate2, 1.0)
        self.beta = _predictor(cond_dim, channels, 0.0)
        self.gamma = _predictor(cond_dim, channels, 0.0)

    def modulation(self, cond: Tensor) -> dict[str, Tensor]:
        """The six predicted quantities for a ``(B, cond_dim)`` condition, each ``(B, n)``.

        Keys: ``norm1_weight``, ``norm1_bias``, ``gate1_scale``, ``beta``, ``norm2_weight``,
        ``norm2_bias``, ``gate2_scale``, ``gamma``.

        Example:
            >>> import torch
            >>> m = FeatureTransformBlock(8, 15).modulation(torch.rand(1, 15))
            >>> m["norm1_weight"].unique().tolist(), m["beta"].unique().tolist()
            ([1.0], [0.0])
        """
        check_embedding(cond, "cond", dim=self.cond_dim)
        w1, b1 = self.norm1_affine(cond).chunk(2, dim=1)
        w2, b2 = self.norm2_affine(cond).chunk(2, dim=1)
        return {
            "norm1_weight": w1, "norm1_bias": b1, "gate1_scale": self.gate1_scale(cond), "beta": self.beta(cond),
            "norm2_weight": w2, "norm2_bias": b2, "gate2_scale": self.gate2_scale(cond), "gamma": self.gamma(cond),
        }

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """Transform features under a condition.

        Args:
            x: ``(B, C, H, W)`` feature map.
            cond: ``(B, cond_dim)`` condition, one vector per sample.

        Returns:
            ``(B, C, H, W)``, in ``x``'s dtype (computed in the block's).
        """
        if not isinstance(x, Tensor) or not x.is_floating_point():
            raise InvalidTypeError(
                f"`x` must be a floating-point torch.Tensor, got {getattr(x, 'dtype', type(x).__name__)}."
            )
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise InvalidValueError(f"`x` must have shape (B, {self.channels}, H, W), got {tuple(x.shape)}.")
        check_embedding(cond, "cond", dim=self.cond_dim, batch=x.shape[0])
        in_dtype, x = x.dtype, to_module_dtype(x, self)
        m = {k: v[:, :, None, None] for k, v in self.modulation(cond.to(x.dtype)).items()}
        y = layer_norm_2d(x, self.eps) * m["norm1_weight"] + m["norm1_bias"]
        y = self.gate(self.conv2(self.conv1(y))) * m["gate1_scale"]
        y = self.conv3(y * self.sca(y))
        x = x + y * m["beta"]
        y = layer_norm_2d(x, self.eps) * m["norm2_weight"] + m["norm2_bias"]
        y = self.gate(self.conv4(y)) * m["gate2_scale"]
        return to_input_dtype(x + self.conv5(y) * m["gamma"], in_dtype)

    @torch.no_grad()
    def to_nafblock(self, cond: Tensor) -> NAFBlock:
        """The plain NAFNet block this FTB equals under one fixed condition.

        The gate modulations are folded into the following convolutions (``conv3`` through
        the channel attention, ``conv5``), so the result has NAFNet's exact layout — useful
        to deploy a model for a single known degradation.

        Args:
            cond: ``(cond_dim,)`` or ``(1, cond_dim)`` condition.

        Example:
            >>> import torch
            >>> ftb = FeatureTransformBlock(8, 15)
            >>> c = torch.rand(1, 15)
            >>> x = torch.randn(1, 8, 6, 6)
            >>> torch.allclose(ftb.to_nafblock(c)(x), ftb(x, c))
            True
        """
        cond = cond.reshape(1, -1) if isinstance(cond, Tensor) and cond.ndim == 1 else cond
        check_embedding(cond, "cond", dim=self.cond_dim, batch=1)
        m = {k: v[0] for k, v in self.modulation(cond).items()}
        c = self.channels
        block = NAFBlock(c, self.conv1.out_channels // c, self.conv4.out_channels // c)
        block = block.to(device=self.conv1.weight.device, dtype=self.conv1.weight.dtype)
        block.norm1.eps = block.norm2.eps = self.eps
        for name in ("conv1", "conv2", "conv4"):
            getattr(block, name).load_state_dict(getattr(self, name).state_dict())
        # SCA(s·y)·(s·y) = s·(W(s·ȳ) + b)·y: fold s into the SCA conv's input and conv3's input
        s1 = m["gate1_scale"]
        sca, new_sca = cast(nn.Conv2d, self.sca[1]), cast(nn.Conv2d, block.sca[1])  # (pool, conv)
        _load_conv(new_sca, sca.weight * s1[None, :, None, None], sca.bias)
        _load_conv(block.conv3, self.conv3.weight * s1[None, :, None, None], self.conv3.bias)
        _load_conv(block.conv5, self.conv5.weight * m["gate2_scale"][None, :, None, None], self.conv5.bias)
        block.norm1.weight.copy_(m["norm1_weight"])
        block.norm1.bias.copy_(m["norm1_bias"])
        block.norm2.weight.copy_(m["norm2_weight"])
        block.norm2.bias.copy_(m["norm2_bias"])
        block.beta.copy_(m["beta"].view(1, -1, 1, 1))
        block.gamma.copy_(m["gamma"].view(1, -1, 1, 1))
        return block


def _load_conv(conv: nn.Conv2d, weight: Tensor, bias: Tensor | None) -> None:
    """Copy ``weight`` and ``bias`` into ``conv`` (in place, no gradient)."""
    conv.weight.copy_(weight)
    if conv.bias is not None and bias is not None:
        conv.bias.copy_(bias)
