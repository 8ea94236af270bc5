"""Reading images as float tensors and writing 8-bit PNGs atomically (Pillow)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from .._atomic import atomic_write
from .._validation import check_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "array_to_image",
    "image_to_array",
    "list_images",
    "read_image",
    "save_png",
]

#: File extensions treated as images when scanning folders (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class ImageReadError(OSError):
    """An image file exists but cannot be decoded (truncated, corrupt, not an image)."""


def image_to_array(image: Tensor) -> np.ndarray:
    """A ``3×H×W`` float image in ``[0, 1]`` as an ``H×W×3`` uint8 array (clamped, rounded), as image files hold it.

    Example:
        >>> import torch
        >>> image_to_array(torch.full((3, 1, 2), 0.5))[0, 0].tolist()
        [128, 128, 128]
    """
    return (image.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def array_to_image(array: np.ndarray) -> Tensor:
    """An ``H×W×3`` uint8 array as a ``3×H×W`` float image in ``[0, 1]`` (the inverse of :func:`image_to_array`).

    Example:
        >>> import numpy as np
        >>> array_to_image(np.full((1, 2, 3), 255, np.uint8)).shape
        torch.Size([3, 1, 2])
    """
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).float() / 255.0


def read_image(path: str | os.PathLike[str]) -> Tensor:
    """Read an image file as a float ``3×H×W`` tensor in ``[0, 1]`` (RGB; gray is expanded).

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
        ImageReadError: the file cannot be decoded (the message names it).

    Example:
        >>> import tempfile, torch
        >>> p = tempfile.mkdtemp() + "/x.png"
        >>> save_png(torch.rand(3, 8, 8), p)
        >>> tuple(read_image(p).shape)
        (3, 8, 8)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Image file not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            rgb = img.convert("RGB")
            arr = np.asarray(rgb, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"Cannot read image {path}: {exc}") from exc
    return array_to_image(arr)


def save_png(image: Tensor, path: str | os.PathLike[str]) -> None:
    """Write a ``3×H×W`` float image in ``[0, 1]`` as an 8-bit PNG, atomically.

    The pixels go to a temporary file in the same folder, which then replaces ``path``
    with ``os.replace``: an interrupted write never leaves a half-written image.

    Example:
        >>> import tempfile, torch
        >>> save_png(torch.zeros(3, 4, 4), tempfile.mkdtemp() + "/black.png")
    """
    if isinstance(image, Tensor) and image.ndim == 3:
        check_image(image.unsqueeze(0), "image")
    else:
        raise ValueError(f"`image` must be a 3×H×W tensor, got {getattr(image, 'shape', type(image).__name__)}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = image_to_array(image)
    atomic_write(path, lambda f: Image.fromarray(arr).save(f, format="PNG"))


def list_images(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` (by extension, case-insensitive), sorted; hidden files skipped.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.

    Example:
        >>> import tempfile
        >>> list_images(tempfile.mkdtemp())
        []
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Folder not found: {folder}")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )
