"""Tiny saved models for the web page's tests: a wrapped network, a bare one and a perceiver (random, offline)."""

from __future__ import annotations

from pathlib import Path

import torch

from perceive_ir.apps.demo_models import DemoModels, save_demo_models
from perceive_ir.models import create_model
from perceive_ir.perceive.perceiver import QualityPerceiver
from perceive_ir.testing import tiny_clip_config, tiny_dinov2_config


def tiny_demo_networks(seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module, QualityPerceiver]:
    """A bare ``nafnet-small``, the same backbone wrapped (tiny random DINOv2) and a tiny random perceiver."""
    torch.manual_seed(seed)
    wrapped = create_model("nafnet-small", semantic_encoder=tiny_dinov2_config(), probe_size=32).eval()
    bare = create_model("nafnet-small", wrap=False).eval()
    perceiver = QualityPerceiver(clip_model=tiny_clip_config(), clip_pretrained=None).eval()
    return bare, wrapped, perceiver


def write_tiny_demo_report(folder: Path) -> DemoModels:
    """A report folder holding what ``perceive-ir demo`` keeps, with tiny random networks."""
    bare, wrapped, perceiver = tiny_demo_networks()
    return save_demo_models(folder, bare=bare, wrapped=wrapped, perceiver=perceiver)
