"""The test cases of the Perceive-IR authors' published protocols ``adair3`` and ``adair5``, and their inputs.

What the authors' ``src/perceiveIR/evaluate_stage2_adair.py`` (``build_samples``, ``crop_to_16``,
``load_pair``) does, re-implemented:

* the test tree is ``DATA_ROOT/AiO/test`` when ``DATA_ROOT/AiO`` exists, else ``DATA_ROOT/test``;
  images (``.png .jpg .jpeg .bmp .tif .tiff``) are found recursively, sorted by path;
* the cases, in order: every BSD68 clean image (``denoise/bsd68/target``) at σ 15, then all at
  σ 25, then all at σ 50; SOTS-Outdoor (``dehaze/{input,target}``, the input ``0001_0.8_0.2.png``
  pairs with ``0001.png``: the stem before the first ``_``); Rain100L
  (``derain/Rain100L/{input,target}``); for ``adair5`` also GoPro (``deblur/gopro``) and LOL-v1
  (``enhance/lol``);
* ``adair3``: clean targets and paired inputs are centre-cropped to multiples of 16; the noisy
  input is ``clip(target_uint8 + randn(H, W, 3) · σ, 0, 255)`` truncated to uint8, the normal
  draws from ONE ``numpy.random.RandomState(0)`` advanced through the cases in order, after the crop;
* ``adair5``: no crop; the noise of BSD68 image ``i`` comes from
  ``torch.Generator().manual_seed(3407 + i)``, ``randn(3, H, W)``, and
  ``(target · 255 + noise · σ).clamp(0, 255)`` is truncated to uint8.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..data.io import list_images
from ..errors import InvalidValueError, MissingFileError

__all__ = [
    "ADAIR_GROUPS",
    "EXPECTED_CASES",
    "PROTOCOLS",
    "ProtocolCase",
    "crop_to_16",
    "degraded_pair",
    "protocol_cases",
    "protocol_rng",
    "protocol_test_root",
    "uint8_sha256",
]

#: The protocols: ``adair3`` (3-task, the paper's Table 1), ``adair5`` (5-task).
PROTOCOLS: tuple[str, ...] = ("adair3", "adair5")

#: The authors' group (row) names of each protocol, in their order.
ADAIR_GROUPS: dict[str, tuple[str, ...]] = {
    "adair3": ("bsd68_sigma15", "bsd68_sigma25", "bsd68_sigma50", "SOTS-Outdoor", "Rain100L"),
    "adair5": ("bsd68_sigma15", "bsd68_sigma25", "bsd68_sigma50", "SOTS-Outdoor", "Rain100L", "GoPro", "LOLv1"),
}

#: How many cases the full test sets give (the authors' check in ``build_samples``).
EXPECTED_CASES: dict[str, int] = {"adair3": 804, "adair5": 1930}

_SIGMAS = (15, 25, 50)
# the authors' IMAGE_SUFFIXES (data.py); hidden files are skipped [ours: never test images]
_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
_ADAIR5_SEED = 3407
# (task, group, folder below the test root); the paired folders hold input/ and target/
_PAIRED = (
    ("dehaze", "SOTS-Outdoor", ("dehaze",)),
    ("derain", "Rain100L", ("derain", "Rain100L")),
)
_PAIRED_ADAIR5 = (
    ("deblur", "GoPro", ("deblur", "gopro")),
    ("lowlight", "LOLv1", ("enhance", "lol")),
)


@dataclass(frozen=True)
class ProtocolCase:
    """One test case.

    Attributes:
        task: ``denoise``, ``dehaze``, ``derain``, ``deblur`` or ``lowlight``.
        dataset: The authors' group name (``bsd68_sigma25``, ``SOTS-Outdoor``, ...).
        target: The clean image.
        input: The degraded image, or ``None`` for synthetic noise.
        sigma: The noise level (0..255 scale) for synthetic noise, else ``None``.
        index: Position of the image in the sorted BSD68 list (synthetic noise), else ``None``.
    """

    task: str
    dataset: str
    target: Path
    input: Path | None = None
    sigma: int | None = None
    index: int | None = None


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise InvalidValueError(f"Unknown `protocol` {protocol!r}; known: {list(PROTOCOLS)}.")


def protocol_test_root(data_root: str | os.PathLike[str]) -> Path:
    """``DATA_ROOT/AiO/test`` when ``DATA_ROOT/AiO`` is a folder, else ``DATA_ROOT/test`` (as the authors).

    Raises:
        FileNotFoundError: ``data_root`` or the test folder is missing.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp()); (root / "test").mkdir()
        >>> protocol_test_root(root) == root / "test"
        True
    """
    root = Path(data_root)
    if not root.is_dir():
        raise MissingFileError(f"--data-root {root} is not a folder.")
    test = root / "AiO" / "test" if (root / "AiO").is_dir() else root / "test"
    if not test.is_dir():
        raise MissingFileError(f"missing folder {test}: the authors' test layout is DATA_ROOT/AiO/test or "
                               "DATA_ROOT/test (see docs/evaluation.md).")
    return test


def _images(folder: Path, protocol: str) -> list[Path]:
    if not folder.is_dir():
        raise MissingFileError(f"missing folder {folder}: the {protocol} protocol reads it (see docs/evaluation.md).")
    files = [p for p in list_images(folder, recursive=True) if p.suffix.lower() in _SUFFIXES]
    if not files:
        raise InvalidValueError(f"no images in {folder}: the {protocol} protocol reads its test images there.")
    return files


def protocol_cases(data_root: str | os.PathLike[str], protocol: str) -> list[ProtocolCase]:
    """The protocol's test cases, in the authors' order.

    Raises:
        ValueError: unknown ``protocol``, an empty folder, a degraded image without its target.
        FileNotFoundError: a missing folder (named).

    Example:
        >>> import tempfile
        >>> from perceive_ir.data import save_png
        >>> root = Path(tempfile.mkdtemp()) / "test"
        >>> save_png(torch.rand(3, 20, 20), root / "denoise/bsd68/target/01.png")
        >>> for sub, name in (("dehaze", "0001"), ("derain/Rain100L", "1")):
        ...     save_png(torch.rand(3, 20, 20), root / sub / "input" / f"{name}.png")
        ...     save_png(torch.rand(3, 20, 20), root / sub / "target" / f"{name}.png")
        >>> [c.dataset for c in protocol_cases(root.parent, "adair3")]
        ['bsd68_sigma15', 'bsd68_sigma25', 'bsd68_sigma50', 'SOTS-Outdoor', 'Rain100L']
    """
    _check_protocol(protocol)
    test = protocol_test_root(data_root)
    clean = _images(test / "denoise" / "bsd68" / "target", protocol)
    cases = [
        ProtocolCase("denoise", f"bsd68_sigma{sigma}", target, sigma=sigma, index=index)
        for sigma in _SIGMAS
        for index, target in enumerate(clean)
    ]
    for task, group, parts in _PAIRED + (_PAIRED_ADAIR5 if protocol == "adair5" else ()):
        folder = test.joinpath(*parts)
        targets: dict[str, Path] = {}
        for path in _images(folder / "target", protocol):
            if path.stem in targets:
                raise InvalidValueError(f"two {task} targets named {path.stem!r} under {folder / 'target'}.")
            targets[path.stem] = path
        for degraded in _images(folder / "input", protocol):
            stem = degraded.stem.split("_", 1)[0] if task == "dehaze" else degraded.stem
            if stem not in targets:
                raise InvalidValueError(f"{degraded}: no {task} target named {stem} in {folder / 'target'}.")
            cases.append(ProtocolCase(task, group, targets[stem], input=degraded))
    return cases


def crop_to_16(array: np.ndarray) -> np.ndarray:
    """Centre-crop an ``H×W×C`` array to multiples of 16 (the extra pixel, if odd, at the bottom/right).

    Example:
        >>> crop_to_16(np.zeros((181, 243, 3))).shape
        (176, 240, 3)
    """
    height, width = array.shape[:2]
    extra_h, extra_w = height % 16, width % 16
    top, left = extra_h // 2, extra_w // 2
    return array[top : top + height - extra_h, left : left + width - extra_w]


def _read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _to_tensor(array: np.ndarray) -> Tensor:
    return torch.from_numpy(np.array(array, copy=True)).permute(2, 0, 1).float().div(255.0)


def protocol_rng() -> np.random.RandomState:
    """The one NumPy generator ``adair3`` advances through its noisy cases (seed 0, as the authors)."""
    return np.random.RandomState(0)


def degraded_pair(
    case: ProtocolCase, protocol: str, rng: np.random.RandomState
) -> tuple[np.ndarray, Tensor, Tensor]:
    """The case's degraded input (uint8 ``H×W×3`` and float ``3×H×W``) and its target (float ``3×H×W``).

    Args:
        case: From :func:`protocol_cases`.
        protocol: ``adair3`` or ``adair5``.
        rng: From :func:`protocol_rng`, passed to every case in order (``adair3`` draws its noise
            from it; ``adair5`` leaves it alone).

    Raises:
        ValueError: unknown ``protocol``; input and target sizes differ.

    Example:
        >>> import tempfile
        >>> from perceive_ir.data import save_png
        >>> path = Path(tempfile.mkdtemp()) / "01.png"; save_png(torch.rand(3, 20, 37), path)
        >>> low8, low, target = degraded_pair(ProtocolCase("denoise", "bsd68_sigma15", path, sigma=15, index=0),
        ...                                   "adair3", protocol_rng())
        >>> low8.dtype, tuple(low.shape), tuple(target.shape)
        (dtype('uint8'), (3, 16, 32), (3, 16, 32))
    """
    _check_protocol(protocol)
    target_array = _read_rgb(case.target)
    if protocol == "adair3":
        target_array = crop_to_16(target_array)
    target = _to_tensor(target_array)
    if case.input is None:
        if case.sigma is None or case.index is None:
            raise InvalidValueError(f"{case.target}: a synthetic-noise case needs `sigma` and `index`.")
        if protocol == "adair3":
            noisy = target_array + rng.randn(*target_array.shape) * case.sigma
            low8 = np.clip(noisy, 0, 255).astype(np.uint8)
        else:
            generator = torch.Generator().manual_seed(_ADAIR5_SEED + case.index)
            noise = torch.randn(target.shape, generator=generator)
            low8 = (target * 255.0 + noise * case.sigma).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    else:
        low8 = _read_rgb(case.input)
        if protocol == "adair3":
            low8 = crop_to_16(low8)
    if low8.shape != target_array.shape:
        raise InvalidValueError(f"test pair sizes differ: {case.input} is {low8.shape[:2]}, {case.target} is "
                                f"{target_array.shape[:2]}.")
    return low8, _to_tensor(low8), target


def uint8_sha256(array: np.ndarray) -> str:
    """SHA-256 of an ``H×W×3`` uint8 array's bytes (C order), as the reference set records it.

    Example:
        >>> uint8_sha256(np.zeros((1, 1, 3), np.uint8))[:12]
        '709e80c88487'
    """
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.uint8).tobytes()).hexdigest()
