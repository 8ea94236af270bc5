"""Reading images as float tensors (what users' files hold, scaled to ``[0, 1]``) and writing them atomically (Pillow).

The reading policy, for every path that opens an image (datasets, ``restore``, ``score``, the web page):

* EXIF orientation is applied, so a phone photograph is upright as every viewer shows it.
* 8-bit images are divided by 255; 16-bit ones (``I;16`` greyscale PNG/TIFF) by 65535; float
  images (``F`` TIFF) are taken as they are and must already lie in ``[0, 1]``.
* Greyscale is expanded to three channels; palette images are converted to RGB.
* Alpha is kept apart (:func:`read_image_file`): the network restores the colour, and the
  writer re-attaches the alpha channel, so transparent pixels stay transparent.
* Animations and multi-page files are refused (which frame was meant is not ours to guess), and
  so are images above Pillow's decompression-bomb limit: both with a message naming the file.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

from .._atomic import atomic_write
from .._validation import check_image
from ..errors import InvalidValueError, MissingFileError, PerceiveIRError

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImageFile",
    "ImageReadError",
    "array_to_image",
    "image_to_array",
    "list_images",
    "read_image",
    "read_image_file",
    "save_image",
    "save_png",
]

#: File extensions treated as images when scanning folders (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# Pillow's save format for each extension that :func:`save_image` writes, and whether it keeps alpha.
_WRITE_FORMATS: dict[str, tuple[str, bool]] = {
    ".png": ("PNG", True),
    ".jpg": ("JPEG", False),
    ".jpeg": ("JPEG", False),
    ".bmp": ("BMP", False),
    ".tif": ("TIFF", True),
    ".tiff": ("TIFF", True),
    ".webp": ("WEBP", True),
}
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


class ImageReadError(PerceiveIRError, OSError):
    """An image file exists but cannot be used (truncated, corrupt, not an image, animated, too large, out of range)."""


@dataclass(frozen=True)
class ImageFile:
    """An image file as read: the colour, the alpha channel if it had one, and its bit depth.

    Attributes:
        image: ``3×H×W`` float tensor in ``[0, 1]`` (EXIF orientation applied).
        alpha: ``1×H×W`` float tensor in ``[0, 1]``, or ``None`` for an opaque image.
        bits: Bits per sample of the file: 8, 16 or 32 (float).
    """

    image: Tensor
    alpha: Tensor | None
    bits: int


def image_to_array(image: Tensor) -> np.ndarray:
    """A ``C×H×W`` float image in ``[0, 1]`` as an ``H×W×C`` uint8 array (clamped, rounded), as image files hold it.

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


def _decode(img: Image.Image, path: Path) -> ImageFile:
    """The colour and alpha of an opened, oriented Pillow image, scaled to ``[0, 1]``."""
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode == "I":
        values = np.asarray(img).astype(np.float64)
        if mode == "I" and values.size and (values.min() < 0 or values.max() > 65535):
            raise ImageReadError(
                f"Cannot read image {path}: its 32-bit integer samples span [{values.min():g}, {values.max():g}]; "
                "perceive-ir reads 8-bit, 16-bit (0..65535) and float ([0, 1]) images."
            )
        grey = torch.from_numpy(values / 65535.0).float()
        return ImageFile(grey.expand(3, *grey.shape).contiguous(), None, 16)
    if mode == "F":
        values = np.asarray(img, dtype=np.float32)
        if not np.isfinite(values).all():
            raise ImageReadError(f"Cannot read image {path}: its float samples include NaN or infinity.")
        low, high = float(values.min()), float(values.max())
        if low < 0.0 or high > 1.0:
            raise ImageReadError(
                f"Cannot read image {path}: its float samples span [{low:g}, {high:g}], expected [0, 1] "
                "(scale the image to [0, 1] first)."
            )
        grey = torch.from_numpy(values.copy())
        return ImageFile(grey.expand(3, *grey.shape).contiguous(), None, 32)
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = np.asarray(img.convert("RGBA"), dtype=np.uint8)
        alpha = torch.from_numpy(rgba[..., 3].copy()).float().div(255.0).unsqueeze(0)
        return ImageFile(array_to_image(rgba[..., :3]), alpha, 8)
    return ImageFile(array_to_image(np.array(img.convert("RGB"), dtype=np.uint8)), None, 8)


_EXIF_ORIENTATION = 0x0112
# EXIF orientation -> the transpose that shows the image upright (the EXIF specification's table)
_UPRIGHT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _read_png16(path: Path, orientation: int) -> ImageFile:
    """A 16-bit RGB(A) PNG at its full depth (Pillow reads those as 8-bit RGB), EXIF orientation applied."""
    import png  # pypng

    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    planes = int(info["planes"])
    arr = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows]).reshape(height, width, planes)
    method = _UPRIGHT.get(orientation)
    if method is not None:  # Pillow turns 16-bit single-channel images: turn each plane
        arr = np.stack([np.asarray(Image.fromarray(arr[..., c]).transpose(method)) for c in range(planes)], axis=-1)
    values = torch.from_numpy(arr.astype(np.float32) / 65535.0).permute(2, 0, 1).contiguous()
    alpha = values[3:4] if planes == 4 else None
    return ImageFile(values[:3].contiguous(), alpha, 16)


def read_image_file(path: str | os.PathLike[str]) -> ImageFile:
    """Read an image file: its colour as a float ``3×H×W`` tensor in ``[0, 1]``, its alpha and bit depth.

    See the module's reading policy (EXIF orientation, 16-bit and float scaling, alpha kept
    apart, animations and decompression bombs refused).

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
        ImageReadError: the file cannot be decoded, has several frames, is larger than Pillow's
            decompression-bomb limit, or holds float samples outside ``[0, 1]`` (the message names it).

    Example:
        >>> import tempfile, torch
        >>> p = tempfile.mkdtemp() + "/x.png"
        >>> save_image(torch.rand(3, 8, 8), p, alpha=torch.ones(1, 8, 8))
        >>> read = read_image_file(p)
        >>> tuple(read.image.shape), tuple(read.alpha.shape), read.bits
        ((3, 8, 8), (1, 8, 8), 8)
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"Image file not found: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                frames = getattr(img, "n_frames", 1)
                if frames > 1:
                    raise ImageReadError(
                        f"Cannot read image {path}: it holds {frames} frames (an animation or a multi-page file); "
                        "save the frame you want as an image of its own."
                    )
                if img.format == "PNG" and any(str(t.args).startswith(("RGB;16", "RGBA;16")) for t in img.tile):
                    return _read_png16(path, img.getexif().get(_EXIF_ORIENTATION, 1))
                img.load()
                oriented = ImageOps.exif_transpose(img)
                return _decode(oriented, path)
    except ImageReadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageReadError(
            f"Cannot read image {path}: it declares more pixels than Pillow's safety limit "
            f"({Image.MAX_IMAGE_PIXELS} pixels; a decompression bomb?). If the image is genuine, raise "
            "PIL.Image.MAX_IMAGE_PIXELS before reading it."
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"Cannot read image {path}: {exc}") from exc


def read_image(path: str | os.PathLike[str]) -> Tensor:
    """Read an image file as a float ``3×H×W`` tensor in ``[0, 1]`` (RGB; gray is expanded; alpha is left out).

    The colour of :func:`read_image_file`; see the module's reading policy.

    Raises:
        FileNotFoundError: the file does not exist (the message names it).
        ImageReadError: the file cannot be used (the message names it and says why).

    Example:
        >>> import tempfile, torch
        >>> p = tempfile.mkdtemp() + "/x.png"
        >>> save_png(torch.rand(3, 8, 8), p)
        >>> tuple(read_image(p).shape)
        (3, 8, 8)
    """
    return read_image_file(path).image


def _check_alpha(alpha: Tensor, image: Tensor) -> None:
    if not isinstance(alpha, Tensor) or alpha.shape != (1, *image.shape[1:]):
        raise InvalidValueError(
            f"`alpha` must be a 1×H×W tensor matching the image's {tuple(image.shape[1:])}, "
            f"got {getattr(alpha, 'shape', type(alpha).__name__)}."
        )


def _to_sixteen_bit(image: Tensor) -> np.ndarray:
    """A ``C×H×W`` float image in ``[0, 1]`` as an ``H×W×C`` uint16 array (clamped, rounded)."""
    return (image.detach().clamp(0, 1) * 65535).round().to(torch.int32).permute(1, 2, 0).cpu().numpy().astype(np.uint16)


def _write_png16(arr: np.ndarray, file: Any) -> None:
    """A 16-bit RGB(A) PNG of an ``H×W×C`` uint16 array (Pillow writes 16 bits for greyscale only)."""
    import png  # pypng

    height, width, channels = arr.shape
    writer = png.Writer(width=width, height=height, greyscale=False, alpha=channels == 4, bitdepth=16)
    writer.write(file, arr.reshape(height, width * channels).tolist())


def save_image(
    image: Tensor, path: str | os.PathLike[str], *, alpha: Tensor | None = None, bits: int = 8
) -> None:
    """Write a ``3×H×W`` float image in ``[0, 1]`` to a file whose format follows ``path``'s suffix, atomically.

    PNG, TIFF and WebP keep ``alpha``; JPEG and BMP cannot hold one, so writing an image with
    alpha to them is refused. JPEG is written at quality 95. ``bits=16`` writes a 16-bit PNG (the
    format that holds 16 bits per colour sample; :func:`read_image_file` tells an input's depth,
    so a restored 16-bit image can be written back at its depth). The pixels go to a temporary
    file beside ``path``, which then replaces it: an interrupted write never leaves half an image.

    Args:
        image: ``3×H×W`` float tensor in ``[0, 1]``.
        path: Destination; its suffix (one of :data:`IMAGE_EXTENSIONS`) picks the format.
        alpha: Optional ``1×H×W`` alpha channel in ``[0, 1]`` to re-attach.
        bits: Bits per sample: 8, or 16 for a ``.png`` path.

    Raises:
        ValueError: a bad image or alpha, an unknown suffix, alpha for a format without one, or
            16 bits for a format other than PNG.

    Example:
        >>> import tempfile, torch
        >>> save_image(torch.zeros(3, 4, 4), tempfile.mkdtemp() + "/black.jpg")
        >>> path = tempfile.mkdtemp() + "/deep.png"
        >>> save_image(torch.full((3, 2, 2), 0.5), path, bits=16)
        >>> read_image_file(path).bits
        16
    """
    if not (isinstance(image, Tensor) and image.ndim == 3):
        raise InvalidValueError(f"`image` must be a 3×H×W tensor, got {getattr(image, 'shape', type(image).__name__)}.")
    check_image(image.unsqueeze(0), "image")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _WRITE_FORMATS:
        raise InvalidValueError(
            f"`path` {path} must end in one of {sorted(_WRITE_FORMATS)} (the suffix picks the format)."
        )
    if bits not in (8, 16) or isinstance(bits, bool):
        raise InvalidValueError(f"`bits` must be 8 or 16, got {bits!r}.")
    fmt, keeps_alpha = _WRITE_FORMATS[suffix]
    if bits == 16 and fmt != "PNG":
        raise InvalidValueError(f"`bits`=16 needs a .png `path` (the format written with 16 bits), got {path}.")
    as_array = _to_sixteen_bit if bits == 16 else image_to_array
    arr = as_array(image)
    if alpha is not None:
        _check_alpha(alpha, image)
        if not keeps_alpha:
            raise InvalidValueError(
                f"`path` {path}: {fmt} cannot hold the image's alpha channel; write a .png, .tif or .webp instead."
            )
        arr = np.concatenate([arr, as_array(alpha)], axis=-1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if bits == 16:
        atomic_write(path, lambda f: _write_png16(arr, f))
        return
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    atomic_write(path, lambda f: Image.fromarray(arr).save(f, format=fmt, **options))


def save_png(image: Tensor, path: str | os.PathLike[str]) -> None:
    """Write a ``3×H×W`` float image in ``[0, 1]`` as an 8-bit PNG, atomically (whatever ``path``'s suffix).

    The pixels go to a temporary file in the same folder, which then replaces ``path``
    with ``os.replace``: an interrupted write never leaves a half-written image.

    Example:
        >>> import tempfile, torch
        >>> save_png(torch.zeros(3, 4, 4), tempfile.mkdtemp() + "/black.png")
    """
    if isinstance(image, Tensor) and image.ndim == 3:
        check_image(image.unsqueeze(0), "image")
    else:
        raise InvalidValueError(f"`image` must be a 3×H×W tensor, got {getattr(image, 'shape', type(image).__name__)}.")
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
        raise MissingFileError(f"Folder not found: {folder}")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )
