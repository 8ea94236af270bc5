"""Proxy restorers: the medium-quality negatives ``M_k`` of the perceptual loss, with their tasks.

A proxy is any image-to-image callable: a perceive-ir model, a network loaded with spandrel,
an official checkpoint once it loads, the cross-fitted medium restorers of stage 1, or a
plain function. It carries the tasks it is valid for: the paper's mask ``m_k``, so that a
dehazing proxy only counts as a negative on hazy inputs. For the other samples of a batch
the proxy is not run and its term drops out of the denominator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Union

import torch
from torch import Tensor, nn

from ..._tasks import task_id, task_name
from ...errors import InvalidTypeError, InvalidValueError

__all__ = ["Proxy", "ProxyLike", "as_proxies", "task_ids"]


def task_ids(tasks: Tensor | Sequence[str | int], batch: int) -> Tensor:
    """The ``(batch,)`` int64 task ids of a batch given as a tensor, or as names / ids.

    Raises:
        ValueError: the number of tasks is not ``batch``, or a name is unknown.
        TypeError: ``tasks`` is neither a tensor nor a sequence.

    Example:
        >>> task_ids(["dehaze", "denoise"], 2).tolist()
        [2, 0]
    """
    if isinstance(tasks, Tensor):
        ids = tasks.reshape(-1).long()
    elif isinstance(tasks, Sequence) and not isinstance(tasks, str):
        ids = torch.tensor([task_id(t) for t in tasks], dtype=torch.long)
    else:
        raise InvalidTypeError(
            f"`tasks` must be a tensor of task ids or a list of task names/ids, got {type(tasks).__name__}."
        )
    if ids.numel() != batch:
        raise InvalidValueError(f"`tasks` has {ids.numel()} entries but the batch has {batch} images.")
    return ids


class Proxy(nn.Module):
    """A frozen proxy restorer whose outputs are medium-quality negatives, valid for some tasks.

    Args:
        restorer: Any callable ``(B, 3, H, W) -> (B, 3, H, W)`` in ``[0, 1]``; an ``nn.Module``
            is frozen and kept in eval mode (it is registered, so ``.to(device)`` moves it, but
            it is never part of a training checkpoint's trainable state).
        tasks: Task names or ids the proxy is valid for (the mask ``m_k``); ``None``: every task.
        name: A short name for logs and metrics (default ``proxy<k>`` by position).

    Example:
        >>> import torch
        >>> blur = Proxy(lambda x: x * 0.5 + 0.25, tasks=["dehaze"], name="half")
        >>> blur.valid_mask(torch.tensor([0, 2])).tolist()
        [False, True]
        >>> out = blur.render(torch.zeros(2, 3, 8, 8), torch.tensor([0, 2]))
        >>> out[0].max().item(), out[1].min().item()
        (0.0, 0.25)
    """

    def __init__(
        self,
        restorer: Callable[[Tensor], Tensor],
        tasks: Iterable[str | int] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        if isinstance(restorer, Proxy):
            raise InvalidTypeError("`restorer` is already a Proxy.")
        if not callable(restorer):
            raise InvalidTypeError(
                f"`restorer` must be a callable image-to-image restorer, got {type(restorer).__name__}."
            )
        if isinstance(restorer, nn.Module):
            restorer.requires_grad_(False).eval()
            self.restorer: Callable[[Tensor], Tensor] = restorer
        else:
            object.__setattr__(self, "restorer", restorer)  # a plain function: nothing to register
        if isinstance(tasks, (str, int)):
            raise InvalidTypeError(f"`tasks` must be a list of task names or ids, got {tasks!r}.")
        self.tasks: tuple[int, ...] | None = None if tasks is None else tuple(sorted({task_id(t) for t in tasks}))
        if self.tasks == ():
            raise InvalidValueError("`tasks` is empty: give the tasks the proxy is valid for, or None for every task.")
        if name is not None and (not isinstance(name, str) or not name):
            raise InvalidValueError(f"`name` must be a non-empty string, got {name!r}.")
        self.name = name

    def train(self, mode: bool = True) -> Proxy:
        """Keep the frozen restorer in eval mode whatever the mode of the module around it."""
        super().train(mode)
        if isinstance(self.restorer, nn.Module):
            self.restorer.eval()
        return self

    @property
    def task_names(self) -> tuple[str, ...] | None:
        """The names of ``tasks`` (``None``: every task)."""
        return None if self.tasks is None else tuple(task_name(t) for t in self.tasks)

    def valid_mask(self, tasks: Tensor | None, batch: int | None = None) -> Tensor:
        """``(B,)`` booleans: where the proxy is valid for the sample's task (``m_k``).

        Args:
            tasks: ``(B,)`` task ids; ``None`` is only allowed for a proxy valid for every task.
            batch: The batch size when ``tasks`` is ``None``.

        Raises:
            ValueError: the proxy is restricted to some tasks but ``tasks`` is not given.
        """
        if tasks is None:
            if self.tasks is not None:
                raise InvalidValueError(
                    f"Proxy {self.name or ''!s} is valid for {list(self.task_names or ())} only: pass the samples' "
                    "`tasks=` to the loss so it can mask it."
                )
            return torch.ones(int(batch or 0), dtype=torch.bool)
        if self.tasks is None:
            return torch.ones(tasks.shape[0], dtype=torch.bool, device=tasks.device)
        return torch.isin(tasks, torch.tensor(self.tasks, device=tasks.device))

    @torch.no_grad()
    def render(self, degraded: Tensor, tasks: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """The proxy's restorations (clamped to ``[0, 1]``) of the valid samples; the others keep ``degraded``.

        The samples the proxy is not valid for are masked out of the loss later; they are
        returned unchanged so the batch keeps its shape.

        Args:
            degraded: ``(B, 3, H, W)`` images.
            tasks: ``(B,)`` task ids (see :meth:`valid_mask`).
            mask: ``valid_mask(tasks, B)`` when the caller has already computed it (it is not
                computed again); ``None``: computed here.

        Raises:
            TypeError: the restorer does not return a tensor.
            ValueError: it returns another shape.
        """
        mask = (self.valid_mask(tasks, degraded.shape[0]) if mask is None else mask).to(degraded.device)
        if bool(mask.all()):
            out = self.restorer(degraded)
        else:
            out = degraded.clone()
            if bool(mask.any()):
                index = mask.nonzero().flatten()
                out[index] = self._checked(self.restorer(degraded[index]), degraded[index]).to(out.dtype)
            return out
        return self._checked(out, degraded)

    def _checked(self, out: object, degraded: Tensor) -> Tensor:
        if not isinstance(out, Tensor):
            raise InvalidTypeError(f"Proxy {self.name or ''!s} returned {type(out).__name__}, expected a tensor.")
        if out.shape != degraded.shape:
            raise InvalidValueError(
                f"Proxy {self.name or ''!s} returned shape {tuple(out.shape)} for input {tuple(degraded.shape)}; "
                "a proxy restorer must keep the image size (pad inside it if it needs a multiple)."
            )
        return out.detach().clamp(0, 1)  # as the authors render every proxy: a negative is an image

    def extra_repr(self) -> str:
        """Name and tasks, for ``print(proxy)``."""
        return f"name={self.name!r}, tasks={self.task_names}"


#: What the loss accepts as a proxy: a :class:`Proxy` or any image-to-image callable.
ProxyLike = Union[Proxy, Callable[[Tensor], Tensor]]


def as_proxies(proxies: ProxyLike | Sequence[ProxyLike] | None, first_index: int = 0) -> list[Proxy]:
    """Proxies from callables or :class:`Proxy` objects, each named (``proxy<k>`` by default).

    Raises:
        TypeError: ``proxies`` or an entry is not callable.
        ValueError: two proxies share a name.

    Example:
        >>> [p.name for p in as_proxies([lambda x: x, Proxy(lambda x: x, name="blur")])]
        ['proxy0', 'blur']
        >>> len(as_proxies(nn.ModuleList([nn.Identity(), nn.Identity()])))
        2
    """
    if proxies is None:
        return []
    if isinstance(proxies, (list, tuple, nn.ModuleList)):
        items = list(proxies)
    elif callable(proxies):
        items = [proxies]
    else:
        raise InvalidTypeError(f"`proxies` must be a restorer or a list of them, got {type(proxies).__name__}.")
    out: list[Proxy] = []
    for k, item in enumerate(items, start=first_index):
        proxy = item if isinstance(item, Proxy) else Proxy(item)
        if proxy.name is None:
            proxy.name = f"proxy{k}"
        out.append(proxy)
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise InvalidValueError(f"Proxy names must be unique, got {names}.")
    return out
