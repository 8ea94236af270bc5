"""Output adapters: the restored image of a network that returns more than an image.

Many restoration networks return a tuple, a list or a dict: MPRNet its three stages, FBCNN the
image and a quality factor, RestoreFormer the image and a codebook loss. :func:`select_image`
finds the image in such an output, so :func:`~perceive_ir.inference.restore.restore`, the
evaluation harness, the CLI and the demo work with any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from ..errors import InvalidTypeError, InvalidValueError

__all__ = ["OutputKey", "select_image"]

#: Which part of a network's output is the image: an index of a tuple/list, a key of a dict
#: (or a field of a namedtuple), or ``None`` for the first image-shaped tensor.
OutputKey = int | str | None


def _is_image_for(t: object, inputs: Tensor) -> bool:
    """A ``(B, C, kH, kW)`` tensor for the input ``(B, C, H, W)`` and one integer ``k >= 1``."""
    if not isinstance(t, Tensor) or t.ndim != 4 or t.shape[:2] != inputs.shape[:2]:
        return False
    (h, w), (oh, ow) = inputs.shape[-2:], t.shape[-2:]
    return oh >= h and oh % h == 0 and ow == (oh // h) * w


def _flatten(out: Any, path: str = "output") -> list[tuple[str, Any]]:
    if isinstance(out, Tensor):
        return [(path, out)]
    if isinstance(out, Mapping):
        return [item for k, v in out.items() for item in _flatten(v, f"{path}[{k!r}]")]
    if isinstance(out, (list, tuple)):
        return [item for i, v in enumerate(out) for item in _flatten(v, f"{path}[{i}]")]
    return [(path, out)]


def _describe(out: Any) -> str:
    parts = []
    for path, value in _flatten(out):
        what = f"tensor {tuple(value.shape)}" if isinstance(value, Tensor) else type(value).__name__
        parts.append(f"{path}: {what}")
    return "; ".join(parts[:12]) + ("; ..." if len(parts) > 12 else "")


def select_image(out: Any, inputs: Tensor, output: OutputKey = None) -> Tensor:
    """The restored image in a network's output ``out`` for the input batch ``inputs``.

    Args:
        out: What the network returned: a tensor, or a tuple, list, namedtuple or dict
            (nested ones too) holding it.
        inputs: The ``(B, C, H, W)`` batch the network ran on.
        output: ``None``: ``out`` itself when it is a tensor, else the first tensor (depth
            first, in order) shaped like an image for ``inputs``: batch ``B``, ``C`` channels
            and ``k·H × k·W`` for an integer ``k`` (1, or a super-resolution scale). An int:
            that index of a tuple or list; a str: that key of a dict or field of a namedtuple.

    Returns:
        The image tensor.

    Raises:
        TypeError: nothing image-shaped in ``out`` (the message lists what it holds), or
            ``output`` of the wrong type for ``out``.
        ValueError: ``output`` names an index or key ``out`` does not have.

    Example:
        >>> import torch
        >>> x = torch.rand(2, 3, 8, 8)
        >>> select_image((torch.rand(2, 1), x * 2), x).equal(x * 2)
        True
        >>> select_image({"stages": [x + 1, x], "loss": torch.tensor(0.0)}, x).equal(x + 1)
        True
        >>> select_image([x, x - 1], x, output=1).equal(x - 1)
        True
    """
    if output is None:
        if isinstance(out, Tensor):
            return out
        for _, value in _flatten(out):
            if _is_image_for(value, inputs):
                return value
        raise InvalidTypeError(
            f"The network returned no image-shaped tensor (batch {inputs.shape[0]}, {inputs.shape[1]} channels, an "
            f"integer multiple of {tuple(inputs.shape[-2:])}): {_describe(out)}. Pass `output=` (an index or key; "
            "--output-key on the command line) to say which part is the image."
        )
    if isinstance(output, bool) or not isinstance(output, (int, str)):
        raise InvalidTypeError(f"`output` must be None, an int index or a str key, got {output!r}.")
    if isinstance(output, int):
        if not isinstance(out, (list, tuple)):
            raise InvalidTypeError(
                f"`output`={output} (--output-key) indexes a tuple or list, but the network returned {_describe(out)}."
            )
        if not -len(out) <= output < len(out):
            raise InvalidValueError(
                f"`output`={output} (--output-key) is out of range: the network returned {len(out)} items."
            )
        value = out[output]
    elif isinstance(out, Mapping):
        if output not in out:
            raise InvalidValueError(
                f"`output`={output!r} (--output-key) is not a key of the network's output; keys: {list(out)}."
            )
        value = out[output]
    elif isinstance(out, tuple) and output in getattr(out, "_fields", ()):
        value = getattr(out, output)
    else:
        raise InvalidTypeError(
            f"`output`={output!r} (--output-key) names a key, but the network returned {_describe(out)}."
        )
    if not isinstance(value, Tensor) or value.ndim != 4:
        raise InvalidTypeError(
            f"`output`={output!r} (--output-key) selects {_describe(value)}, not a (B, C, H, W) image."
        )
    return value
