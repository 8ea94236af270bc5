"""The degradation encoder of AMIRNet and the paired random crops its representation uses.

The encoder is a small convolutional network that maps an image to a pooled feature vector.
A *degradation representation* is the difference ``encoder(degraded) − encoder(clean)`` of a
paired sample, averaged over a few random crops taken at the same place in both images: the
scene content cancels (to first order) and what remains describes the degradation. It needs
pairs, never degradation labels.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor, nn

from .._blockwise_pooling import Stage, pooled_moments
from .._validation import check_image, check_int, check_same_shape, to_input_dtype, to_module_dtype
from ..errors import InvalidValueError

__all__ = ["DegradationEncoder", "paired_random_crops"]


class DegradationEncoder(nn.Module):
    """Image → ``(B, dim)`` pooled features describing its degradation.

    Three 3×3 convolutions (stride 1, 2, 2) with LeakyReLU, then per-channel mean *and*
    standard deviation over all pixels (``dim = 2 × widths[-1]``). The standard deviation
    keeps contrast and noise energy, which a mean alone would partly average away. No
    normalisation layers: brightness and contrast are exactly what the encoder must see.

    Without gradients, images larger than :attr:`inference_block_size` on a side are encoded
    block by block with exact halos (bounded memory, same result up to float rounding).

    Args:
        in_channels: Channels of the input image.
        widths: Output channels of the three convolutions.

    Example:
        >>> import torch
        >>> enc = DegradationEncoder(widths=(16, 32, 32))
        >>> enc(torch.rand(2, 3, 32, 32)).shape
        torch.Size([2, 64])
    """

    def __init__(self, in_channels: int = 3, widths: tuple[int, ...] | list[int] = (32, 64, 64)) -> None:
        super().__init__()
        check_int(in_channels, "in_channels")
        widths = tuple(widths)
        if len(widths) != 3 or not all(isinstance(w, int) and w > 0 for w in widths):
            raise InvalidValueError(f"`widths` must be three positive ints, got {widths!r}.")
        self.in_channels = in_channels
        self.widths = widths
        chans = (in_channels, *widths)
        strides = (1, 2, 2)
        layers: list[nn.Module] = []
        for c_in, c_out, s in zip(chans[:-1], chans[1:], strides, strict=True):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=s, padding=1), nn.LeakyReLU(0.1)]
        self.body = nn.Sequential(*layers)

    #: Side (input pixels) of the blocks used without gradients on larger images. Smaller
    #: than the CFE's: the first convolution here keeps full resolution.
    inference_block_size: int = 256

    @property
    def dim(self) -> int:
        """Size of the pooled feature vector."""
        return 2 * self.widths[-1]

    def forward(self, images: Tensor) -> Tensor:
        """Encode a batch of images.

        Args:
            images: ``(B, in_channels, H, W)`` float images in ``[0, 1]``, at least 4×4.

        Returns:
            ``(B, dim)`` features: per-channel means then per-channel standard deviations.
        """
        check_image(images, "images", channels=self.in_channels, min_size=4, check_values=False)
        dtype = images.dtype
        images = to_module_dtype(images, self)  # computed in the encoder's dtype, returned in the input's
        block = self.inference_block_size
        if not torch.is_grad_enabled() and max(images.shape[-2:]) > block:
            # the body alternates Conv2d and activation: (conv, activation) stages
            stages = cast("list[Stage]", list(zip(self.body[0::2], self.body[1::2], strict=True)))
            mean, var = pooled_moments(stages, images, block)
            return to_input_dtype(torch.cat([mean, var.sqrt()], dim=1).to(images.dtype), dtype)
        f = self.body(images).flatten(2)
        return to_input_dtype(torch.cat([f.mean(dim=2), f.std(dim=2, unbiased=False)], dim=1), dtype)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this encoder (``DegradationEncoder(**config)``)."""
        return {"in_channels": self.in_channels, "widths": list(self.widths)}


def paired_random_crops(
    degraded: Tensor,
    clean: Tensor,
    crop_size: int,
    *,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Crop both images of every pair at the same random place (a new place per sample).

    Images no larger than ``crop_size`` along a side keep that side whole.

    Args:
        degraded: ``(B, C, H, W)`` degraded images.
        clean: ``(B, C, H, W)`` clean images, same shape.
        crop_size: Side of the square crop.
        generator: Optional ``torch.Generator`` for reproducible crops.

    Returns:
        The cropped ``(degraded, clean)``, each ``(B, C, min(H, crop_size), min(W, crop_size))``.

    Example:
        >>> import torch
        >>> d, c = paired_random_crops(torch.rand(2, 3, 40, 50), torch.rand(2, 3, 40, 50), 32)
        >>> d.shape, c.shape
        (torch.Size([2, 3, 32, 32]), torch.Size([2, 3, 32, 32]))
    """
    check_same_shape(degraded, "degraded", clean, "clean")
    check_int(crop_size, "crop_size")
    b, _, h, w = degraded.shape
    ch, cw = min(h, crop_size), min(w, crop_size)
    tops = torch.randint(0, h - ch + 1, (b,), generator=generator).tolist()
    lefts = torch.randint(0, w - cw + 1, (b,), generator=generator).tolist()
    corners = list(enumerate(zip(tops, lefts, strict=True)))
    d = torch.stack([degraded[i, :, top : top + ch, left : left + cw] for i, (top, left) in corners])
    c = torch.stack([clean[i, :, top : top + ch, left : left + cw] for i, (top, left) in corners])
    return d, c
