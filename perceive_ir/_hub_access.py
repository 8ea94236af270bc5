"""Hub access that fails fast and says why.

huggingface_hub retries an unreachable Hub for about a minute ("Retrying in 8s" ...) before
it looks in its local cache. Every place the library may contact the Hub (model folders, the
DINOv2 encoder, CLIP weights) goes through :func:`hub_access` instead: one TCP connection to
the Hub (or to the HTTPS proxy) with a :data:`HUB_PROBE_TIMEOUT_S` timeout, remembered for
the process; when it fails, or when ``HF_HUB_OFFLINE`` is set, only the local cache is used and
a miss raises :class:`HubUnavailableError`, which says which of the two it was and which file was
looked for.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from huggingface_hub import constants

from .errors import PerceiveIRError

__all__ = [
    "HUB_PROBE_TIMEOUT_S",
    "HubUnavailableError",
    "hub_access",
    "hub_unavailable_reason",
    "reset_hub_probe",
    "unavailable_error",
]

#: Seconds the reachability check waits for a TCP connection to the Hub.
HUB_PROBE_TIMEOUT_S = 3.0

_PROBED: dict[tuple[str, int], bool] = {}


class HubUnavailableError(PerceiveIRError, ConnectionError):
    """A file was wanted from the Hugging Face Hub, which is switched off or out of reach, and it is not cached."""


def _offline_variable() -> str | None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}:
            return name
    return "HF_HUB_OFFLINE" if constants.HF_HUB_OFFLINE else None


def _probe_address() -> tuple[str, int]:
    """Where a Hub request first connects: the HTTPS proxy when one is set, else the endpoint."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlsplit(proxy if proxy else constants.ENDPOINT)
    default_port = 443 if url.scheme == "https" else 80
    return url.hostname or "", url.port or default_port


def reset_hub_probe() -> None:
    """Forget the reachability checks made so far (the next access checks again)."""
    _PROBED.clear()


def hub_unavailable_reason() -> str | None:
    """Why the Hub will not be contacted, or ``None`` when it may be.

    Returns:
        ``"HF_HUB_OFFLINE=1 is set"`` (or ``TRANSFORMERS_OFFLINE``), ``"the Hub at <endpoint> could
        not be reached within 3 s (offline?)"``, or ``None``.

    Example:
        >>> import os
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"}):
        ...     hub_unavailable_reason()
        'HF_HUB_OFFLINE=1 is set'
    """
    variable = _offline_variable()
    if variable is not None:
        return f"{variable}=1 is set"
    address = _probe_address()
    if address not in _PROBED:
        try:
            with socket.create_connection(address, timeout=HUB_PROBE_TIMEOUT_S):
                _PROBED[address] = True
        except OSError:
            _PROBED[address] = False
    if _PROBED[address]:
        return None
    return f"the Hub at {constants.ENDPOINT} could not be reached within {HUB_PROBE_TIMEOUT_S:g} s (offline?)"


@contextlib.contextmanager
def hub_access() -> Iterator[str | None]:
    """Use only the local cache inside this block when the Hub is switched off or out of reach.

    huggingface_hub, and transformers and open_clip through it, then answer from the cache at
    once instead of retrying the network.

    Yields:
        :func:`hub_unavailable_reason`: ``None`` when the Hub is used as usual, else why it is not
        (put it in the error raised on a cache miss, e.g. with :func:`unavailable_error`).

    Example:
        >>> import os
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"}), hub_access() as reason:
        ...     reason  # hf_hub_download(...) here answers from the cache at once
        'HF_HUB_OFFLINE=1 is set'
    """
    reason = hub_unavailable_reason()
    if reason is None or constants.HF_HUB_OFFLINE:
        yield reason
        return
    constants.HF_HUB_OFFLINE = True  # huggingface_hub reads it on every request
    try:
        yield reason
    finally:
        constants.HF_HUB_OFFLINE = False


def unavailable_error(what: str, reason: str, remedy: str) -> HubUnavailableError:
    """The error for a cache miss while the Hub is unavailable: what was looked for, why not asked, what to do.

    Example:
        >>> print(unavailable_error("'config.json' of 'org/x'", "HF_HUB_OFFLINE=1 is set", "pass a folder"))
        'config.json' of 'org/x' is not in the local Hugging Face cache, and HF_HUB_OFFLINE=1 is set: pass a folder.
    """
    return HubUnavailableError(f"{what} is not in the local Hugging Face cache, and {reason}: {remedy}.")
