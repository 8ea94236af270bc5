"""AMIRNet: a NAFNet U-Net whose encoder blocks are FTBs conditioned by a degradation tree."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from .._padding import pad_to_multiple
from .._validation import check_embedding, check_image, check_int, to_input_dtype, to_module_dtype
from ..errors import InvalidValueError
from ..hub import HubMixin
from .ftb import FeatureTransformBlock
from .nafnet import NAFBlock
from .tree import DegradationTree

__all__ = ["AMIRNet", "amirnet"]


class AMIRNet(nn.Module, HubMixin):
    """All-in-one restorer: NAFNet U-Net, FTB encoder, conditioned by its own ``DegradationTree``.

    ``forward(degraded)`` pads the image to a multiple of ``2 ** len(enc_blocks)`` (reflect),
    restores it and crops back, so any size ≥ 4×4 works. The tree sees the unpadded image.

    Args:
        in_channels: Image channels.
        width: Channels of the first level (doubled at every downsampling).
        enc_blocks: FTBs per encoder level (its length is the number of downsamplings).
        middle_blocks: NAFNet blocks at the bottleneck.
        dec_blocks: NAFNet blocks per decoder level; same length as ``enc_blocks``.
        tree: Keyword arguments of the owned :class:`DegradationTree`.
        condition_grad: Let the restoration loss back-propagate into the tree. Off by default:
            the tree is trained by its own pseudo-label loss and its memberships keep their
            meaning as cluster probabilities.

    Example:
        >>> import torch
        >>> net = AMIRNet(width=8, enc_blocks=(1, 1), dec_blocks=(1, 1), tree={"encoder_widths": (8, 16, 16)})
        >>> net(torch.rand(1, 3, 30, 21)).shape
        torch.Size([1, 3, 30, 21])
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 32,
        enc_blocks: Sequence[int] = (1, 1, 1),
        middle_blocks: int = 1,
        dec_blocks: Sequence[int] = (1, 1, 1),
        tree: dict[str, Any] | None = None,
        condition_grad: bool = False,
    ) -> None:
        super().__init__()
        enc_blocks, dec_blocks = tuple(enc_blocks), tuple(dec_blocks)
        check_int(width, "width")
        if len(enc_blocks) != len(dec_blocks) or not enc_blocks:
            raise InvalidValueError(
                "`enc_blocks` and `dec_blocks` must be non-empty and of equal length, "
                f"got {enc_blocks} and {dec_blocks}."
            )
        counted = (("enc_blocks", enc_blocks), ("dec_blocks", dec_blocks), ("middle_blocks", (middle_blocks,)))
        for name, counts in counted:
            if not all(isinstance(n, int) and n >= 0 for n in counts):
                raise InvalidValueError(f"`{name}` must hold non-negative ints, got {counts!r}.")
        tree_kwargs = dict(tree or {})
        tree_kwargs.setdefault("in_channels", in_channels)
        if tree_kwargs["in_channels"] != in_channels:
            raise InvalidValueError("`tree['in_channels']` must equal `in_channels`.")
        self.in_channels = in_channels
        self.width = width
        self.enc_blocks, self.dec_blocks, self.middle_blocks = enc_blocks, dec_blocks, middle_blocks
        self.condition_grad = bool(condition_grad)
        self.tree = DegradationTree(**tree_kwargs)
        cond_dim = self.tree.cond_dim

        self.intro = nn.Conv2d(in_channels, width, 3, padding=1)
        self.encoders = nn.ModuleList()
        self.downs = nn.ModuleList()
        chan = width
        for n in enc_blocks:
            self.encoders.append(nn.ModuleList(FeatureTransformBlock(chan, cond_dim) for _ in range(n)))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, stride=2))
            chan *= 2
        self.middle = nn.Sequential(*(NAFBlock(chan) for _ in range(middle_blocks)))
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for n in dec_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(chan, 2 * chan, 1, bias=False), nn.PixelShuffle(2)))
            chan //= 2
            self.decoders.append(nn.Sequential(*(NAFBlock(chan) for _ in range(n))))
        self.ending = nn.Conv2d(width, in_channels, 3, padding=1)
        self.multiple = 2 ** len(enc_blocks)

    def parameter_groups(self, lr: float, encoder_lr_scale: float = 0.1) -> list[dict[str, Any]]:
        """Optimizer groups: the restorer and the tree's heads at ``lr``, the tree's encoder scaled.

        Example:
            >>> import torch
            >>> opt = torch.optim.AdamW(AMIRNet(width=8).parameter_groups(2e-4))
        """
        tree_ids = {id(p) for p in self.tree.parameters()}
        rest = [p for p in self.parameters() if id(p) not in tree_ids]
        groups = self.tree.parameter_groups(lr, encoder_lr_scale)
        return [{"params": rest, "lr": lr}, *groups]

    def forward(self, degraded: Tensor, cond: Tensor | None = None) -> Tensor:
        """Restore a batch.

        Args:
            degraded: ``(B, C, H, W)`` images in ``[0, 1]``, at least 4×4.
            cond: Optional ``(B, tree.cond_dim)`` condition to use instead of the tree's
                (e.g. to steer the network by hand).

        Returns:
            ``(B, C, H, W)`` restored images (not clamped).
        """
        check_image(degraded, "degraded", channels=self.in_channels, min_size=4, check_values=False)
        in_dtype, degraded = degraded.dtype, to_module_dtype(degraded, self)
        if cond is None:
            with torch.set_grad_enabled(self.condition_grad and torch.is_grad_enabled()):
                cond = self.tree(degraded)
        else:
            check_embedding(cond, "cond", dim=self.tree.cond_dim, batch=degraded.shape[0])
            cond = to_module_dtype(cond, self)
        x_in, (h, w) = pad_to_multiple(degraded, self.multiple)
        x = self.intro(x_in)
        skips = []
        for blocks, down in zip(self.encoders, self.downs, strict=True):
            for block in cast(nn.ModuleList, blocks):
                x = block(x, cond)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for up, blocks, skip in zip(self.ups, self.decoders, reversed(skips), strict=True):
            x = blocks(up(x) + skip)
        x = self.ending(x) + x_in
        return to_input_dtype(x[..., :h, :w], in_dtype)

    def get_config(self) -> dict[str, Any]:
        """JSON-safe constructor arguments, the tree's own config included (for ``save_pretrained``)."""
        return {
            "in_channels": self.in_channels,
            "width": self.width,
            "enc_blocks": list(self.enc_blocks),
            "middle_blocks": self.middle_blocks,
            "dec_blocks": list(self.dec_blocks),
            "tree": self.tree.get_config(),
            "condition_grad": self.condition_grad,
        }


def amirnet(
    width: int = 32,
    enc_blocks: Sequence[int] = (1, 1, 1),
    middle_blocks: int = 1,
    dec_blocks: Sequence[int] = (1, 1, 1),
    *,
    depth: int = 3,
    branching: int = 2,
    **kwargs: Any,
) -> AMIRNet:
    """Build an :class:`AMIRNet`.

    The defaults are small enough to train on a CPU; for real data use a NAFNet-sized
    setting such as ``enc_blocks=(2, 2, 4, 8), middle_blocks=12, dec_blocks=(2, 2, 2, 2)``.

    Args:
        width: Channels of the first level.
        enc_blocks: FTBs per encoder level.
        middle_blocks: NAFNet blocks at the bottleneck.
        dec_blocks: NAFNet blocks per decoder level.
        depth: Tree levels below the root.
        branching: Children per tree node.
        **kwargs: Other :class:`AMIRNet` arguments (``tree=`` entries are merged with depth/branching).

    Example:
        >>> import torch
        >>> net = amirnet(width=8)
        >>> net.tree.cond_dim, net(torch.rand(1, 3, 20, 20)).shape
        (15, torch.Size([1, 3, 20, 20]))
    """
    tree = {"depth": depth, "branching": branching, **dict(kwargs.pop("tree", None) or {})}
    return AMIRNet(
        width=width, enc_blocks=enc_blocks, middle_blocks=middle_blocks, dec_blocks=dec_blocks, tree=tree, **kwargs
    )
