"""Difficulty weights ``a_k`` of the medium-quality negatives in the perceptual loss.

Two rules, following DESIGN §1:

* :class:`ProxyPSNRDifficulty` — the released code's epoch-level rule: on a fixed probe set,
  ``a_k = 1.25`` when proxy restorer ``k`` scores a PSNR at or below the current model,
  else ``0.75``; re-measured each epoch with :meth:`ProxyPSNRDifficulty.measure`.
* :class:`PerceiverDifficulty` — per sample, the same rule with the quality perceiver's
  score in place of PSNR: ``a_k(i) = 1.25`` when the perceiver rates restored image ``i`` at
  least as high as negative ``k`` of that sample, else ``0.75``. No probe set needed.

:class:`FixedDifficulty` keeps constant weights (an ablation).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = ["DifficultyRule", "FixedDifficulty", "ProxyPSNRDifficulty", "PerceiverDifficulty", "HARD", "EASY"]

#: Weight of a negative the model already beats (the released code's value).
HARD = 1.25
#: Weight of a negative the model does not beat yet.
EASY = 0.75


class DifficultyRule:
    """Base class. ``weights`` returns ``(B, K)`` weights for ``K`` medium negatives."""

    #: Whether the rule needs perceiver scores of the restored and medium images.
    needs_scores: bool = False

    def state_dict(self) -> dict[str, Any]:
        """What a training checkpoint must keep for an exact resume (JSON-safe)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def weights(
        self,
        batch: int,
        num_medium: int,
        device: torch.device,
        restored_score: Tensor | None = None,
        medium_scores: Tensor | None = None,
    ) -> Tensor:  # pragma: no cover - abstract
        """The ``(batch, num_medium)`` weights of the medium negatives for one batch.

        Args:
            batch: Number of samples ``B``.
            num_medium: Number of medium negatives ``K`` per sample.
            device: Device of the returned weights.
            restored_score: ``(B,)`` perceiver scores of the restored images (rules with ``needs_scores``).
            medium_scores: ``(B, K)`` perceiver scores of the medium negatives (rules with ``needs_scores``).

        Returns:
            ``(B, K)`` float weights.
        """
        raise NotImplementedError


class FixedDifficulty(DifficultyRule):
    """Constant weights: one value for every negative, or one per negative.

    Example:
        >>> import torch
        >>> FixedDifficulty(1.0).weights(2, 3, torch.device("cpu")).shape
        torch.Size([2, 3])
    """

    def __init__(self, values: float | Sequence[float] = 1.0) -> None:
        self.values = [float(values)] if isinstance(values, (int, float)) else [float(v) for v in values]
        if not self.values or any(v < 0 for v in self.values):
            raise ValueError(f"`values` must be non-negative numbers, got {values!r}.")

    def weights(self, batch, num_medium, device, restored_score=None, medium_scores=None) -> Tensor:
        """The constant weights for every sample; a single value is used for all ``num_medium`` negatives.

        Raises:
            ValueError: more than one value was given, but not ``num_medium``.
        """
        values = self.values * num_medium if len(self.values) == 1 else self.values
        if len(values) != num_medium:
            raise ValueError(
                f"FixedDifficulty has {len(self.values)} weights but {num_medium} medium negatives were given."
            )
        return torch.tensor(values, device=device).expand(batch, num_medium)


class ProxyPSNRDifficulty(DifficultyRule):
    """Epoch-level weights from the PSNR of each proxy restorer against the current model.

    Until the first :meth:`measure`, every weight is ``initial`` (1.0: neutral).

    Args:
        hard: Weight of a proxy the model already matches or beats.
        easy: Weight of a proxy that is still better than the model.
        initial: Weight before the first measurement.

    Example:
        >>> rule = ProxyPSNRDifficulty()
        >>> rule.set_from_psnr(model_psnr=28.0, proxy_psnrs=[27.0, 30.0])
        [1.25, 0.75]
    """

    def __init__(self, hard: float = HARD, easy: float = EASY, initial: float = 1.0) -> None:
        self.hard, self.easy, self.initial = float(hard), float(easy), float(initial)
        self.current: list[float] | None = None
        self.last_psnr: dict[str, float] = {}

    def state_dict(self) -> dict[str, Any]:
        """The current weights (``None`` before the first measurement) and the last measured PSNRs."""
        return {"current": None if self.current is None else list(self.current), "last_psnr": dict(self.last_psnr)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        current = state.get("current")
        self.current = None if current is None else [float(v) for v in current]
        self.last_psnr = {str(k): float(v) for k, v in dict(state.get("last_psnr", {})).items()}

    def set_from_psnr(self, model_psnr: float, proxy_psnrs: Sequence[float]) -> list[float]:
        """Apply the rule to measured PSNRs and return the new weights."""
        self.current = [self.hard if p <= model_psnr else self.easy for p in proxy_psnrs]
        self.last_psnr = {"model": float(model_psnr), **{f"proxy_{k}": float(p) for k, p in enumerate(proxy_psnrs)}}
        return list(self.current)

    @torch.no_grad()
    def measure(
        self,
        model: Callable[[Tensor], Tensor],
        proxies: Sequence[Callable[[Tensor], Tensor] | Tensor] | Callable[[Tensor], Tensor] | Tensor,
        probe: Iterable[tuple[Tensor, Tensor]],
        device: torch.device | str | None = None,
    ) -> list[float]:
        """Re-measure PSNR of the model and each proxy on a probe set and update the weights.

        Call it once per epoch with the same probe set. PSNR is torchmetrics' on ``[0, 1]``
        images, averaged over the probe set.

        Args:
            model: The restoration model being trained (called under ``no_grad``; switched
                to eval mode for the measurement and restored afterwards if it is a module).
            proxies: The proxy restorers, in the order their outputs are passed as ``medium``.
            probe: Iterable of ``(degraded, clean)`` batches.
            device: Device to run on; default the device of the first batch.

        Returns:
            The new weights, one per proxy.
        """
        from torchmetrics.functional.image import peak_signal_noise_ratio

        proxy_list = list(proxies) if isinstance(proxies, (list, tuple)) else [proxies]
        if not proxy_list:
            raise ValueError("`proxies` is empty: the rule needs at least one proxy restorer.")
        was_training = isinstance(model, nn.Module) and model.training
        if isinstance(model, nn.Module):
            model.eval()
        totals = torch.zeros(len(proxy_list) + 1, dtype=torch.float64)
        batches = 0
        try:
            for degraded, clean in probe:
                if device is not None:
                    degraded, clean = degraded.to(device), clean.to(device)
                outputs = [model(degraded)] + [p(degraded) for p in proxy_list]  # type: ignore[operator]
                for k, out in enumerate(outputs):
                    totals[k] += float(peak_signal_noise_ratio(out.clamp(0, 1), clean, data_range=1.0))
                batches += 1
        finally:
            if isinstance(model, nn.Module):
                model.train(was_training)
        if batches == 0:
            raise ValueError("`probe` yielded no batches.")
        psnr = (totals / batches).tolist()
        return self.set_from_psnr(psnr[0], psnr[1:])

    def weights(self, batch, num_medium, device, restored_score=None, medium_scores=None) -> Tensor:
        """The last measured weights for every sample, or ``initial`` everywhere before the first :meth:`measure`.

        Raises:
            ValueError: the weights were measured for a different number of proxies than ``num_medium``.
        """
        if self.current is None:
            return torch.full((batch, num_medium), self.initial, device=device)
        if len(self.current) != num_medium:
            raise ValueError(
                f"The difficulty weights were measured for {len(self.current)} proxies but {num_medium} medium "
                "negatives were given; pass them in the order of `measure(proxies=...)`."
            )
        return torch.tensor(self.current, device=device).expand(batch, num_medium)


class PerceiverDifficulty(DifficultyRule):
    """Per-sample weights from the quality perceiver's scores of restored vs. medium images.

    Example:
        >>> import torch
        >>> rule = PerceiverDifficulty()
        >>> rule.weights(2, 1, torch.device("cpu"), torch.tensor([0.9, 0.2]), torch.tensor([[0.5], [0.5]]))
        tensor([[1.2500],
                [0.7500]])
    """

    needs_scores = True

    def __init__(self, hard: float = HARD, easy: float = EASY) -> None:
        self.hard, self.easy = float(hard), float(easy)

    def weights(self, batch, num_medium, device, restored_score=None, medium_scores=None) -> Tensor:
        """``hard`` where the perceiver rates the restored image at least as high as the negative, else ``easy``.

        Raises:
            ValueError: ``restored_score`` or ``medium_scores`` is missing.
        """
        if restored_score is None or medium_scores is None:
            raise ValueError("PerceiverDifficulty needs the perceiver's scores of the restored and medium images.")
        beats = restored_score.detach()[:, None] >= medium_scores.detach()
        return torch.where(beats, self.hard, self.easy).to(device=device, dtype=torch.float32)
