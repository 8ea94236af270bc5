"""Shared fixtures: tiny random foundation models built from configs (never downloaded), devices, dtypes."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

from perceive_ir.testing import tiny_clip_config as _tiny_clip_config  # noqa: E402
from perceive_ir.testing import tiny_dinov2_config  # noqa: E402,F401  (re-exported for tests)

# tiny models: one intra-op thread is faster than two, and far faster on a busy machine
torch.set_num_threads(1)

#: Kept for tests that import the constant directly.
TINY_CLIP_CONFIG = _tiny_clip_config()

#: Devices the ``device`` fixture runs on: the CPU always, CUDA only where there is one
#: (absent rather than skipped, so a CPU-only run reports no skips for it).
DEVICES: tuple[str, ...] = ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)

#: Floating-point dtypes of the ``float_dtype`` fixture.
FLOAT_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float64)


@pytest.fixture
def tiny_clip_config() -> dict:
    return _tiny_clip_config()


@pytest.fixture
def tiny_dinov2():
    return tiny_dinov2_config()


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """Each available device in turn, for modules that must work wherever their input lives."""
    return torch.device(request.param)


@pytest.fixture(params=FLOAT_DTYPES, ids=lambda dtype: str(dtype).removeprefix("torch."))
def float_dtype(request: pytest.FixtureRequest) -> torch.dtype:
    """``float32`` and ``float64`` in turn, for modules that must keep their input's dtype."""
    return request.param


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


#: The reference set written by the Perceive-IR authors' own code (``shared/official_ref`` beside the
#: checkout, in CI too); tests of the official loaders read it and skip, saying why, where it is absent.
OFFICIAL_REF = Path(__file__).resolve().parents[2] / "shared" / "official_ref"


@pytest.fixture
def official_ref() -> Path:
    """The folder of the authors' reference files (see its MANIFEST.md)."""
    if not (OFFICIAL_REF / "MANIFEST.md").is_file():
        pytest.skip(f"the authors' reference files are not at {OFFICIAL_REF} (shared/official_ref beside the checkout)")
    return OFFICIAL_REF
