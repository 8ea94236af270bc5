"""Every spandrel (+ spandrel-extra-arches) architecture that can be built small, with random weights.

Only the public API: the classes exported by ``spandrel.architectures.<Arch>`` and
``spandrel_extra_arches.architectures.<Arch>``. Each entry says how a user wraps it (``multiple``,
``input_size``, ``input_adapter``), its scale, and — for the few that cannot be wrapped — the
error they must get. ``docs/wrap_backbone.md``'s table is generated from this list by
``python -m tests.retrofit.spandrel_table``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from perceive_ir.retrofit.input_adapters import NoiseLevelMap


@dataclass(frozen=True)
class Entry:
    """One small configuration of a spandrel architecture."""

    name: str
    module: str  # "spandrel.architectures.X" or "spandrel_extra_arches.architectures.X"
    cls: str
    kwargs: dict[str, Any]
    scale: int = 1
    wrap: dict[str, Any] = field(default_factory=dict)  # multiple, input_size, input_adapter, probe_size
    size: int = 24  # the odd-size check uses size + 1 (padded to the multiple by the wrapper)
    refused: str | None = None  # the wrap error (regex) of an architecture that cannot be wrapped
    local: bool = True  # tiles restore like the whole image (False: vector quantisation snaps each tile)
    slow: bool = False

    def build(self) -> nn.Module:
        module = importlib.import_module(self.module)
        return getattr(module, self.cls)(**self.kwargs).eval()


_S = "spandrel.architectures."
_X = "spandrel_extra_arches.architectures."

_SWIN = {"embed_dim": 8, "depths": [1, 1], "num_heads": [2, 2], "window_size": 4, "mlp_ratio": 2.0}

ZOO: list[Entry] = [
    # -- U-Nets and other same-size restoration networks --------------------------------------
    Entry("NAFNet", _S + "NAFNet", "NAFNet",
          {"width": 8, "enc_blk_nums": [1, 1], "middle_blk_num": 1, "dec_blk_nums": [1, 1]}, wrap={"multiple": 4}),
    Entry("KBNet_s", _S + "KBNet", "KBNet_s",
          {"width": 8, "middle_blk_num": 1, "enc_blk_nums": [1, 1], "dec_blk_nums": [1, 1]}, wrap={"multiple": 4}),
    Entry("Restormer", _X + "Restormer", "Restormer",
          {"dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1, "heads": [1, 1, 1, 1]},
          wrap={"multiple": 8}),
    Entry("FFTformer", _S + "FFTformer", "FFTformer",
          {"dim": 8, "num_blocks": [1, 1, 1], "num_refinement_blocks": 1}, wrap={"multiple": 32}, size=32),
    Entry("SCUNet", _S + "SCUNet", "SCUNet", {"dim": 64, "config": [1] * 7}, wrap={"multiple": 64}, size=64,
          slow=True),
    Entry("Uformer", _S + "Uformer", "Uformer",
          {"img_size": 64, "embed_dim": 8, "depths": [1] * 9, "num_heads": [1] * 9, "win_size": 4},
          wrap={"multiple": 64}, size=64, slow=True),
    Entry("DRUNet", _S + "DRUNet", "DRUNet", {"in_nc": 4, "out_nc": 3, "nc": [8, 16, 32, 64], "nb": 1},
          wrap={"multiple": 8, "input_adapter": NoiseLevelMap(15 / 255)}),
    Entry("DnCNN", _S + "DnCNN", "DnCNN", {"in_nc": 3, "out_nc": 3, "nc": 8, "nb": 5}),
    Entry("FDnCNN", _S + "DnCNN", "DnCNN", {"in_nc": 4, "out_nc": 3, "nc": 8, "nb": 5, "mode": "FDnCNN"},
          wrap={"input_adapter": NoiseLevelMap(15 / 255)}),
    Entry("FBCNN", _S + "FBCNN", "FBCNN", {"nc": [8, 16, 32, 512], "nb": 1}, wrap={"multiple": 8}),
    Entry("MPRNet", _X + "MPRNet", "MPRNet",
          {"n_feat": 8, "scale_unetfeats": 4, "scale_orsnetfeats": 4, "num_cab": 1, "reduction": 2},
          wrap={"multiple": 8}),
    Entry("MIRNet2", _X + "MIRNet2", "MIRNet2", {"n_feat": 16, "n_MRB": 1}, wrap={"multiple": 8}),
    Entry("M3SNet", _X + "M3SNet", "M3SNet",
          {"width": 8, "middle_blk_num": 1, "enc_blk_nums": [1, 1, 1, 1], "dec_blk_nums": [1, 1, 1, 1]},
          wrap={"multiple": 16}, size=32),
    Entry("RetinexFormer", _S + "RetinexFormer", "RetinexFormer", {"n_feat": 8, "stage": 1, "num_blocks": [1, 1, 1]},
          wrap={"multiple": 8}),
    Entry("HVICIDNet", _S + "HVICIDNet", "HVICIDNet", {"channels": [8, 8, 16, 32], "heads": [1, 1, 1, 1]},
          wrap={"multiple": 8}),
    Entry("MixDehazeNet", _S + "MixDehazeNet", "MixDehazeNet",
          {"embed_dims": [8, 16, 32, 16, 8], "depths": [1, 1, 1, 1, 1]}, wrap={"multiple": 4, "probe_size": 40},
          size=40),
    Entry("SwinIR", _S + "SwinIR", "SwinIR", {"img_size": 16, **_SWIN, "upscale": 1}),
    Entry("GRL", _S + "GRL", "GRL",
          {"img_size": 16, "embed_dim": 8, "depths": [1, 1], "num_heads_window": [1, 1], "num_heads_stripe": [1, 1],
           "window_size": 4, "stripe_size": [4, 4], "mlp_ratio": 2.0, "upscale": 1}, wrap={"multiple": 4}),
    Entry("ATD", _S + "ATD", "ATD",
          {"img_size": 16, "embed_dim": 8, "depths": (1, 1), "num_heads": (2, 2), "window_size": 4,
           "category_size": 16, "num_tokens": 8, "reducted_dim": 2, "upscale": 1}, wrap={"multiple": 4}),
    Entry("RestoreFormer", _S + "RestoreFormer", "RestoreFormer",
          {"n_embed": 32, "embed_dim": 8, "ch": 32, "ch_mult": (1, 2), "num_res_blocks": 1, "attn_resolutions": (),
           "resolution": 32, "z_channels": 8, "head_size": 2}, wrap={"multiple": 2}, local=False),
    Entry("GFPGAN", _S + "GFPGAN", "GFPGAN",
          {"out_size": 32, "num_style_feat": 32, "channel_multiplier": 1, "num_mlp": 2, "narrow": 0.125},
          wrap={"input_size": 32}, size=32),
    Entry("IPT", _S + "IPT", "IPT",
          {"patch_size": 16, "patch_dim": 4, "n_feats": 8, "num_heads": 2, "num_layers": 1, "scale": [1],
           "rgb_range": 1}, wrap={"input_size": 16}, size=16),
    # -- super-resolution -------------------------------------------------------------------
    Entry("SwinIR-x2", _S + "SwinIR", "SwinIR",
          {"img_size": 16, **_SWIN, "upscale": 2, "upsampler": "pixelshuffle"}, scale=2),
    Entry("SwinIR-x4-light", _S + "SwinIR", "SwinIR",
          {"img_size": 16, **_SWIN, "upscale": 4, "upsampler": "pixelshuffledirect"}, scale=4),
    Entry("Swin2SR-x2", _S + "Swin2SR", "Swin2SR",
          {"img_size": 16, **_SWIN, "upscale": 2, "upsampler": "pixelshuffle"}, scale=2),
    Entry("HAT-x2", _S + "HAT", "HAT",
          {"img_size": 16, "embed_dim": 8, "depths": (1, 1), "num_heads": (2, 2), "window_size": 4,
           "compress_ratio": 2, "squeeze_factor": 2, "mlp_ratio": 2.0, "upscale": 2, "upsampler": "pixelshuffle"},
          scale=2, wrap={"multiple": 4}),
    Entry("DAT-x2", _S + "DAT", "DAT",
          {"img_size": 16, "embed_dim": 16, "split_size": [2, 4], "depth": [1, 1], "num_heads": [2, 2],
           "expansion_factor": 2.0, "upscale": 2, "upsampler": "pixelshuffle"}, scale=2, wrap={"multiple": 4}),
    Entry("RGT-x2", _S + "RGT", "RGT",
          {"img_size": 16, "embed_dim": 8, "depth": [1, 1], "num_heads": [2, 2], "mlp_ratio": 2.0,
           "split_size": [4, 4], "upscale": 2}, scale=2, wrap={"multiple": 4}),
    Entry("DRCT-x2", _S + "DRCT", "DRCT",
          {"img_size": 16, **_SWIN, "upscale": 2, "upsampler": "pixelshuffle", "gc": 4}, scale=2,
          wrap={"multiple": 16}, size=32),
    Entry("ATD-x2", _S + "ATD", "ATD",
          {"img_size": 16, "embed_dim": 8, "depths": (1, 1), "num_heads": (2, 2), "window_size": 4,
           "category_size": 16, "num_tokens": 8, "reducted_dim": 2, "upscale": 2, "upsampler": "pixelshuffle"},
          scale=2, wrap={"multiple": 4}),
    Entry("SRFormer-x2", _X + "SRFormer", "SRFormer",
          {"img_size": 16, **_SWIN, "upscale": 2, "upsampler": "pixelshuffle"}, scale=2, wrap={"multiple": 4}),
    Entry("GRL-x2", _S + "GRL", "GRL",
          {"img_size": 16, "embed_dim": 8, "depths": [1, 1], "num_heads_window": [1, 1], "num_heads_stripe": [1, 1],
           "window_size": 4, "stripe_size": [4, 4], "mlp_ratio": 2.0, "upscale": 2, "upsampler": "pixelshuffle"},
          scale=2, wrap={"multiple": 4}),
    Entry("ESRGAN-x4", _S + "ESRGAN", "ESRGAN", {"num_filters": 8, "num_blocks": 2, "scale": 4}, scale=4),
    Entry("ESRGAN-x2-unshuffle", _S + "ESRGAN", "ESRGAN",
          {"in_nc": 12, "num_filters": 8, "num_blocks": 2, "scale": 4, "shuffle_factor": 2}, scale=2,
          wrap={"multiple": 2}),
    Entry("ESRGAN-x1", _S + "ESRGAN", "ESRGAN", {"num_filters": 8, "num_blocks": 2, "scale": 1}),
    Entry("Compact-x2", _S + "Compact", "Compact", {"num_feat": 8, "num_conv": 4, "upscale": 2}, scale=2),
    Entry("SPAN-x2", _S + "SPAN", "SPAN", {"num_in_ch": 3, "num_out_ch": 3, "feature_channels": 8, "upscale": 2},
          scale=2),
    Entry("OmniSR-x2", _S + "OmniSR", "OmniSR",
          {"num_feat": 8, "block_num": 1, "res_num": 2, "window_size": 4, "up_scale": 2},
          scale=2, wrap={"multiple": 4}),
    Entry("PLKSR-x2", _S + "PLKSR", "PLKSR", {"dim": 8, "n_blocks": 3, "upscaling_factor": 2, "kernel_size": 7},
          scale=2),
    Entry("RealPLKSR-x2", _S + "PLKSR", "RealPLKSR",
          {"dim": 8, "n_blocks": 3, "upscaling_factor": 2, "kernel_size": 7, "norm_groups": 2}, scale=2),
    Entry("RCAN-x2", _S + "RCAN", "RCAN",
          {"scale": 2, "n_resgroups": 2, "n_resblocks": 1, "n_feats": 8, "reduction": 2}, scale=2),
    Entry("SAFMN-x2", _S + "SAFMN", "SAFMN", {"dim": 8, "n_blocks": 2, "upscaling_factor": 2}, scale=2,
          wrap={"multiple": 8}),
    Entry("SAFMNBCIE", _S + "SAFMNBCIE", "SAFMNBCIE", {"dim": 8, "n_blocks": 2, "num_layers": 1,
          "upscaling_factor": 2}, wrap={"multiple": 16}, size=32),  # x1 overall: it downsamples first
    Entry("DITN-x2", _S + "DITN", "DITN",
          {"dim": 8, "ITL_blocks": 1, "SAL_blocks": 1, "UFONE_blocks": 2, "upscale": 2, "patch_size": 8},
          scale=2, wrap={"multiple": 8}),
    Entry("DCTLSA-x2", _S + "DCTLSA", "DCTLSA", {"nf": 10, "num_modules": 6, "upscale": 2, "num_head": 2}, scale=2),
    Entry("SwiftSRGAN-x2", _S + "SwiftSRGAN", "SwiftSRGAN", {"num_channels": 8, "num_blocks": 2, "upscale_factor": 2},
          scale=2),
    Entry("SeemoRe-x2", _S + "SeemoRe", "SeemoRe",
          {"scale": 2, "num_experts": 2, "num_layers": 2, "embedding_dim": 8, "recursive": 1, "topk": 1}, scale=2),
    Entry("MoSR-x2", _S + "MoSR", "MoSR", {"upscale": 2, "n_block": 2, "dim": 8}, scale=2),
    Entry("MoESR-x2", _S + "MoESR", "MoESR", {"scale": 2, "dim": 8, "n_blocks": 2, "n_block": 1, "upsample_dim": 8},
          scale=2),
    Entry("FDAT-x2", _S + "FDAT", "FDAT",
          {"scale": 2, "embed_dim": 8, "num_groups": 2, "depth_per_group": 1, "num_heads": 2, "window_size": 4,
           "mid_dim": 8}, scale=2, wrap={"multiple": 4}),
    Entry("MMRealSR-x4", _S + "MMRealSR", "MMRealSR",
          {"num_in_ch": 3, "num_out_ch": 3, "scale": 4, "num_feat": 8, "num_block": 2, "num_grow_ch": 4,
           "num_feats": [8, 8, 8, 8], "num_blocks": [1, 1, 1, 1]}, scale=4, wrap={"multiple": 8}),
    # -- cannot be wrapped: nothing hookable, told what to pass ---------------------------------
    Entry("CRAFT-x2", _S + "CRAFT", "CRAFT",
          {"embed_dim": 8, "depths": [1], "num_heads": [2], "window_size": 4, "split_size_0": 2, "split_size_1": 4,
           "upscale": 2}, scale=2, wrap={"multiple": 16}, size=32, refused="layers="),
    Entry("RealCUGAN-x2", _S + "RealCUGAN", "UpCunet2x", {}, scale=2, wrap={"multiple": 4, "probe_size": 40}, size=40,
          refused="layers=", slow=True),
]
