"""What users' image files hold is read right: EXIF orientation, 16-bit and float scaling, alpha, animations, bombs."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from perceive_ir.data.io import ImageReadError, read_image, read_image_file, save_image


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "grey16.png"
    Image.fromarray(np.full((6, 7), 32768, np.uint16)).save(path)
    read = read_image_file(path)
    assert read.bits == 16 and read.alpha is None
    assert read.image.shape == (3, 6, 7)
    assert torch.allclose(read.image, torch.full((3, 6, 7), 32768 / 65535))


def test_float_tiff_is_taken_as_it_is_and_out_of_range_is_refused(tmp_path):
    path = tmp_path / "half.tif"
    Image.fromarray(np.full((5, 4), 0.5, np.float32)).save(path)
    read = read_image_file(path)
    assert read.bits == 32 and torch.equal(read.image, torch.full((3, 5, 4), 0.5))
    Image.fromarray(np.full((5, 4), 3.0, np.float32)).save(tmp_path / "hdr.tif")
    with pytest.raises(ImageReadError, match=r"hdr.tif.*span \[3, 3\], expected \[0, 1\]"):
        read_image(tmp_path / "hdr.tif")


def test_exif_orientation_is_applied(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)  # 4 rows, 6 columns
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "phone.png"
    Image.fromarray(pixels).save(path, exif=exif)
    image = read_image(path)
    assert image.shape == (3, 6, 4)  # upright: the sides swap
    upright = np.rot90(pixels, k=-1)  # 90° clockwise
    assert torch.equal(image, torch.from_numpy(upright.copy()).permute(2, 0, 1).float() / 255)


def test_alpha_is_kept_apart_and_written_back(tmp_path):
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = [[0, 255, 128, 255]] * 3
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    read = read_image_file(tmp_path / "in.png")
    assert read.image.shape == (3, 3, 4) and read.alpha is not None
    assert torch.equal(read.alpha[0, 0], torch.tensor([0, 255, 128, 255]) / 255)
    save_image(read.image, tmp_path / "out.png", alpha=read.alpha)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), rgba)
    with pytest.raises(ValueError, match="JPEG cannot hold the image's alpha"):
        save_image(read.image, tmp_path / "out.jpg", alpha=read.alpha)
    assert not (tmp_path / "out.jpg").exists()


def test_animation_is_refused(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageReadError, match=r"anim.gif.*2 frames"):
        read_image(tmp_path / "anim.gif")


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width × height`` (its data is one tiny row: never decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def test_decompression_bomb_is_a_clear_error(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_declaring(40000, 40000))
    with pytest.raises(ImageReadError, match=r"bomb.png.*safety limit.*MAX_IMAGE_PIXELS"):
        read_image(path)


def test_save_image_format_follows_the_suffix(tmp_path):
    image = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0))
    for suffix, fmt in ((".png", "PNG"), (".jpg", "JPEG"), (".tif", "TIFF"), (".webp", "WEBP"), (".bmp", "BMP")):
        save_image(image, tmp_path / f"x{suffix}")
        with Image.open(tmp_path / f"x{suffix}") as img:
            assert img.format == fmt
    with pytest.raises(ValueError, match=r"`path` .*x.gif must end in one of"):
        save_image(image, tmp_path / "x.gif")
    with pytest.raises(ValueError, match="`alpha` must be a 1×H×W tensor"):
        save_image(image, tmp_path / "y.png", alpha=torch.ones(1, 4, 4))
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["x.bmp", "x.jpg", "x.png", "x.tif", "x.webp"]


def _png16(path: Path, arr: np.ndarray, orientation: int | None = None) -> None:
    """A 16-bit RGB PNG (pypng; Pillow writes 16 bits for greyscale only), with an eXIf chunk when asked."""
    import io

    import png

    height, width, _ = arr.shape
    buffer = io.BytesIO()
    png.Writer(width=width, height=height, greyscale=False, bitdepth=16).write(buffer, arr.reshape(height, -1).tolist())
    data = buffer.getvalue()
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        body = exif.tobytes()
        chunk = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body))
        at = data.index(b"IDAT") - 4  # before the image data, where Pillow reads it on open
        data = data[:at] + chunk + data[at:]
    path.write_bytes(data)


def test_16_bit_rgb_is_read_at_full_depth_and_written_back(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 65536, (4, 6, 3), dtype=np.uint16)
    _png16(tmp_path / "deep.png", arr)
    read = read_image_file(tmp_path / "deep.png")
    assert read.bits == 16 and read.alpha is None
    assert torch.equal(read.image, torch.from_numpy(arr.astype(np.float32) / 65535).permute(2, 0, 1))
    save_image(read.image, tmp_path / "again.png", bits=16)
    assert torch.equal(read_image_file(tmp_path / "again.png").image, read.image)  # 16 bits both ways
    with pytest.raises(ValueError, match="`bits`=16 needs a .png `path`"):
        save_image(read.image, tmp_path / "again.jpg", bits=16)


def test_16_bit_rgb_exif_orientation_is_applied(tmp_path):
    arr = np.random.default_rng(1).integers(0, 65536, (4, 6, 3), dtype=np.uint16)
    _png16(tmp_path / "phone16.png", arr, orientation=6)
    image = read_image_file(tmp_path / "phone16.png").image
    upright = np.rot90(arr, k=-1)  # 90° clockwise, as for the 8-bit photograph
    assert torch.equal(image, torch.from_numpy(upright.astype(np.float32) / 65535).permute(2, 0, 1))
