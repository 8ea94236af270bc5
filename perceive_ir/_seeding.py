"""Reproducible random streams: seeds derived with hashlib, never Python's salted ``hash``."""

from __future__ import annotations

import hashlib

import torch

from .errors import InvalidTypeError, InvalidValueError

__all__ = ["stable_seed", "make_generator"]


def stable_seed(*parts: object) -> int:
    """A 63-bit seed that depends only on ``parts`` (stable across processes and machines).

    Example:
        >>> stable_seed("cbsd68", "0001", 25) == stable_seed("cbsd68", "0001", 25)
        True
    """
    digest = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def make_generator(seed: int | None = None, generator: torch.Generator | None = None) -> torch.Generator | None:
    """Resolve the ``seed`` / ``generator`` pair that random functions of the library accept.

    Returns a fresh CPU generator for ``seed``, ``generator`` itself, or ``None`` (use the
    global RNG) when neither is given.

    Raises:
        ValueError: both are given, or ``generator`` is not a CPU generator.
        TypeError: wrong types.

    Example:
        >>> g = make_generator(seed=3)
        >>> a = torch.randint(0, 100, (4,), generator=g)
        >>> torch.equal(a, torch.randint(0, 100, (4,), generator=make_generator(3)))
        True
    """
    if seed is not None and generator is not None:
        raise InvalidValueError("Pass either `seed` or `generator`, not both.")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise InvalidTypeError(f"`generator` must be a torch.Generator, got {type(generator).__name__}.")
        if generator.device.type != "cpu":
            raise InvalidValueError(
                f"`generator` must be a CPU generator (random numbers are drawn on the CPU and moved to the "
                f"image's device), got one on {generator.device}."
            )
        return generator
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidTypeError(f"`seed` must be an int, got {type(seed).__name__}.")
        return torch.Generator(device="cpu").manual_seed(seed)
    return None
