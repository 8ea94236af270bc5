"""Difficulty weights ``a_k`` of the medium-quality negatives in the perceptual loss.

Two rules:

* :class:`ProxyPSNRDifficulty` — the paper's epoch-level rule: on a fixed probe set, per task,
  ``a_k = 1.25`` when proxy restorer ``k`` scores a PSNR at or below the current model,
  else ``0.75``; re-measured each epoch with :meth:`ProxyPSNRDifficulty.measure`.
* :class:`PerceiverDifficulty` — per sample, the same rule with the quality perceiver's
  score in place of PSNR: ``a_k(i) = 1.25`` when the perceiver rates restored image ``i`` at
  least as high as negative ``k`` of that sample, else ``0.75``. No probe set needed.

:class:`FixedDifficulty` keeps constant weights (an ablation).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor

from ..._registry import Registry
from ..._tasks import task_name
from ...errors import InvalidTypeError, InvalidValueError
from ._probe_psnr import ALL_TASKS, MODEL, PSNRSums, probe_psnr_sums
from .proxies import as_proxies

__all__ = [
    "ALL_TASKS",
    "DIFFICULTY_RULES",
    "DifficultyFactory",
    "DifficultyRule",
    "EASY",
    "FixedDifficulty",
    "HARD",
    "PerceiverDifficulty",
    "ProxyPSNRDifficulty",
    "resolve_difficulty",
]

#: Weight of a negative the model already beats (the released code's value).
HARD = 1.25
#: Weight of a negative the model does not beat yet.
EASY = 0.75


class DifficultyRule:
    """Base class. ``weights`` returns ``(B, K)`` weights for ``K`` medium negatives."""

    #: Whether the rule needs perceiver scores of the restored and medium images.
    needs_scores: bool = False
    #: Whether the rule needs each medium negative's PSNR against the target, per sample.
    needs_medium_psnr: bool = False

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
        tasks: Tensor | None = None,
        medium_psnr: Tensor | None = None,
    ) -> Tensor:  # pragma: no cover - abstract
        """The ``(batch, num_medium)`` weights of the medium negatives for one batch.

        Args:
            batch: Number of samples ``B``.
            num_medium: Number of medium negatives ``K`` per sample.
            device: Device of the returned weights.
            restored_score: ``(B,)`` perceiver scores of the restored images (rules with ``needs_scores``).
            medium_scores: ``(B, K)`` perceiver scores of the medium negatives (rules with ``needs_scores``).
            tasks: ``(B,)`` task ids of the samples, when known (per-task rules).
            medium_psnr: ``(B, K)`` PSNR of each medium negative against the target (rules with
                ``needs_medium_psnr``).

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
            raise InvalidValueError(f"`values` must be non-negative numbers, got {values!r}.")

    def weights(
        self,
        batch: int,
        num_medium: int,
        device: torch.device,
        restored_score: Tensor | None = None,
        medium_scores: Tensor | None = None,
        tasks: Tensor | None = None,
        medium_psnr: Tensor | None = None,
    ) -> Tensor:
        """The constant weights for every sample; a single value is used for all ``num_medium`` negatives.

        Raises:
            ValueError: more than one value was given, but not ``num_medium``.
        """
        values = self.values * num_medium if len(self.values) == 1 else self.values
        if len(values) != num_medium:
            raise InvalidValueError(
                f"FixedDifficulty has {len(self.values)} weights but {num_medium} medium negatives were given."
            )
        return torch.tensor(values, device=device).expand(batch, num_medium)


class ProxyPSNRDifficulty(DifficultyRule):
    """Epoch-level weights per task from the PSNR of each proxy restorer against the current model.

    The paper's rule: on a fixed probe set, for each task ``t`` and proxy ``k``,
    ``a_k(t) = hard`` (1.25) when the proxy's mean PSNR on the task's probe images is at or
    below the model's, else ``easy`` (0.75). Re-measure it once per epoch with :meth:`measure`
    (or :meth:`~perceive_ir.perceive.losses.QualityAwareLoss.update_difficulty`, which passes
    the loss's proxies). Each sample then gets the weights of its task. A probe set without
    tasks gives one row, ``"all"``, used for every sample. Until the first measurement every
    weight is ``initial`` (1.0: neutral).

    ``per="sample"`` is the authors' code instead (``train.py``): the model's mean PSNR over
    the whole probe set (every task together) is the reference, and each training sample's
    ``a_k = hard`` when proxy ``k``'s PSNR on that very sample is at or below it, else ``easy``.

    Args:
        hard: Weight of a proxy the model already matches or beats.
        easy: Weight of a proxy that is still better than the model.
        initial: Weight before the first measurement (and for a task the probe set lacks).
        per: ``"task"`` (the paper's rule, default) or ``"sample"`` (the authors' code).

    Example:
        >>> rule = ProxyPSNRDifficulty()
        >>> rule.set_from_psnr(model_psnr=28.0, proxy_psnrs=[27.0, 30.0])
        [1.25, 0.75]
        >>> rule.current
        {'all': [1.25, 0.75]}
    """

    def __init__(self, hard: float = HARD, easy: float = EASY, initial: float = 1.0, per: str = "task") -> None:
        if per not in ("task", "sample"):
            raise InvalidValueError(f"`per` must be 'task' or 'sample', got {per!r}.")
        self.hard, self.easy, self.initial, self.per = float(hard), float(easy), float(initial), per
        self.needs_medium_psnr = per == "sample"
        #: The model's mean PSNR over the whole probe set at the last measurement (``per="sample"``'s reference).
        self.reference: float | None = None
        #: Task name (or ``"all"``) → one weight per proxy (``None`` where the proxy is not valid for the task).
        self.current: dict[str, list[float | None]] | None = None
        #: The last measured mean PSNRs, ``"<model or proxy name>/<task>"`` → dB.
        self.last_psnr: dict[str, float] = {}
        #: The proxies' names at the last measurement.
        self.names: list[str] = []

    def state_dict(self) -> dict[str, Any]:
        """The current weights (``None`` before the first measurement), the last PSNRs and the proxy names."""
        current = None if self.current is None else {k: list(v) for k, v in self.current.items()}
        return {"current": current, "last_psnr": dict(self.last_psnr), "names": list(self.names),
                "reference": self.reference}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        current = state.get("current")
        if isinstance(current, (list, tuple)):  # a single row, as written before the rule was per task
            current = {ALL_TASKS: current}
        self.current = (
            None if current is None
            else {str(k): [None if v is None else float(v) for v in row] for k, row in dict(current).items()}
        )
        self.last_psnr = {str(k): float(v) for k, v in dict(state.get("last_psnr", {})).items()}
        self.names = [str(n) for n in state.get("names", [])]
        reference = state.get("reference")
        self.reference = None if reference is None else float(reference)

    def _rule(self, model_psnr: float, proxy_psnr: float | None) -> float | None:
        if proxy_psnr is None:
            return None
        return self.hard if proxy_psnr <= model_psnr else self.easy

    def set_from_psnr(
        self, model_psnr: float, proxy_psnrs: Sequence[float | None], task: str = ALL_TASKS
    ) -> list[float | None]:
        """Apply the rule to measured PSNRs of one task (``None``: the proxy is not valid there); return the row."""
        if self.current is None or task == ALL_TASKS:
            self.current = {}
        self.current.pop(ALL_TASKS, None)
        row = [self._rule(float(model_psnr), p) for p in proxy_psnrs]
        self.current[str(task)] = row
        return list(row)

    @torch.no_grad()
    def measure(
        self,
        model: Callable[[Tensor], Tensor],
        proxies: Sequence[Callable[[Tensor], Tensor]] | Callable[[Tensor], Tensor],
        probe: Iterable[Any],
        device: torch.device | str | None = None,
    ) -> dict[str, list[float | None]]:
        """Re-measure the PSNR of the model and of each proxy per task on a probe set and update the weights.

        Call it once per epoch with the same probe set (the paper's per-epoch probe). PSNR is
        torchmetrics' on ``[0, 1]`` images, per image, averaged per task; a proxy is measured
        only on the probe images of the tasks it is valid for.

        Args:
            model: The restoration model being trained (called under ``no_grad``; switched
                to eval mode for the measurement and restored afterwards if it is a module).
            proxies: The proxy restorers (:class:`~perceive_ir.perceive.losses.Proxy` objects
                or callables), in the order of the loss's medium negatives.
            probe: Iterable of ``(degraded, clean)``, ``(degraded, clean, tasks)`` or dict
                batches (``degraded``, ``clean``, optional ``task``); single images are fine.
            device: Device to run on; default the device of the first batch.

        Returns:
            The new weights — task name (``"all"`` without tasks) → one weight per proxy
            (``None`` where the proxy is not valid for the task).

        Raises:
            ValueError: no proxies, an empty probe set, or a task-restricted proxy with a probe
                set that has no tasks.
        """
        proxy_list = as_proxies(proxies)
        if not proxy_list:
            raise InvalidValueError("`proxies` is empty: the rule needs at least one proxy restorer.")
        sums = probe_psnr_sums(model, proxy_list, probe, device)
        self._apply_sums(sums, [str(p.name) for p in proxy_list])
        return {k: list(v) for k, v in (self.current or {}).items()}

    def _apply_sums(self, sums: PSNRSums, names: list[str]) -> None:
        """Set the weights, the last PSNRs and the reference from the probe's PSNR sums."""
        self.current, self.last_psnr, self.names = {}, {}, names
        self.reference = sums.overall(MODEL)
        for task in sums.tasks():
            model_psnr = sums.mean(task, MODEL)
            assert model_psnr is not None  # the model is measured on every probe image
            proxy_psnrs = [sums.mean(task, k) for k in range(len(names))]
            self.current[task] = [self._rule(model_psnr, p) for p in proxy_psnrs]
            self.last_psnr[f"model/{task}"] = model_psnr
            for name, p in zip(names, proxy_psnrs, strict=True):
                if p is not None:
                    self.last_psnr[f"{name}/{task}"] = p

    def logged(self) -> dict[str, float]:
        """The current weights and the probe PSNRs behind them as flat metrics.

        ``a/<proxy>/<task>`` → weight (valid pairs only) and ``psnr/<model or proxy>/<task>`` →
        mean probe PSNR of the last :meth:`measure`.

        Example:
            >>> rule = ProxyPSNRDifficulty()
            >>> rule.names = ["blur"]
            >>> _ = rule.set_from_psnr(30.0, [29.0], task="denoise")
            >>> rule.logged()
            {'a/blur/denoise': 1.25}
        """
        if self.current is None:
            return {}
        if self.per == "sample":  # the weights are decided per training sample against this reference
            return {"a/reference_psnr": float(self.reference)} if self.reference is not None else {}
        out = {}
        for task, row in self.current.items():
            for k, value in enumerate(row):
                if value is not None:
                    name = self.names[k] if k < len(self.names) else f"proxy{k}"
                    out[f"a/{name}/{task}"] = float(value)
        return {**out, **{f"psnr/{key}": value for key, value in self.last_psnr.items()}}

    def weights(
        self,
        batch: int,
        num_medium: int,
        device: torch.device,
        restored_score: Tensor | None = None,
        medium_scores: Tensor | None = None,
        tasks: Tensor | None = None,
        medium_psnr: Tensor | None = None,
    ) -> Tensor:
        """Each sample's row of the last measured weights (``initial`` before a measurement or for a task not measured).

        Raises:
            ValueError: the weights were measured for a different number of proxies than
                ``num_medium``, or per task while ``tasks`` is not given.
        """
        if self.per == "sample":
            return self._sample_weights(batch, num_medium, device, medium_psnr)
        if self.current is None:
            return torch.full((batch, num_medium), self.initial, device=device)
        return self._task_weights(self.current, batch, num_medium, device, tasks)

    def _sample_weights(self, batch: int, num_medium: int, device: torch.device, medium_psnr: Tensor | None) -> Tensor:
        """The authors' rule: each medium negative's PSNR on the sample against the model's probe mean."""
        if self.reference is None:
            return torch.full((batch, num_medium), self.initial, device=device)
        if medium_psnr is None:
            raise InvalidValueError("ProxyPSNRDifficulty(per='sample') needs each medium negative's PSNR per sample.")
        return torch.where(medium_psnr.detach() <= self.reference, self.hard, self.easy).to(
            device=device, dtype=torch.float32
        )

    def _task_weights(
        self,
        current: dict[str, list[float | None]],
        batch: int,
        num_medium: int,
        device: torch.device,
        tasks: Tensor | None,
    ) -> Tensor:
        """The paper's rule: each sample gets its task's row of the measured weights."""
        lengths = {len(row) for row in current.values()}
        if lengths != {num_medium}:
            raise InvalidValueError(
                f"The difficulty weights were measured for {sorted(lengths)} proxies but {num_medium} medium "
                "negatives were given; pass them in the order of `measure(proxies=...)`."
            )

        def row(task: str) -> list[float]:
            values = current.get(task) or current.get(ALL_TASKS)
            if values is None:
                return [self.initial] * num_medium
            return [self.initial if v is None else v for v in values]

        if tasks is None:
            if set(current) != {ALL_TASKS}:
                raise InvalidValueError(
                    "The difficulty weights were measured per task: pass the samples' `tasks=` to the loss."
                )
            return torch.tensor(row(ALL_TASKS), device=device).expand(batch, num_medium)
        table = [row(task_name(int(t))) for t in tasks.reshape(-1).tolist()]
        return torch.tensor(table, device=device, dtype=torch.float32).reshape(batch, num_medium)


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

    def weights(
        self,
        batch: int,
        num_medium: int,
        device: torch.device,
        restored_score: Tensor | None = None,
        medium_scores: Tensor | None = None,
        tasks: Tensor | None = None,
        medium_psnr: Tensor | None = None,
    ) -> Tensor:
        """``hard`` where the perceiver rates the restored image at least as high as the negative, else ``easy``.

        Raises:
            ValueError: ``restored_score`` or ``medium_scores`` is missing.
        """
        if restored_score is None or medium_scores is None:
            raise InvalidValueError(
                "PerceiverDifficulty needs the perceiver's scores of the restored and medium images."
            )
        beats = restored_score.detach()[:, None] >= medium_scores.detach()
        return torch.where(beats, self.hard, self.easy).to(device=device, dtype=torch.float32)


#: What a :data:`DIFFICULTY_RULES` entry is: a factory called with no arguments when a loss is built.
DifficultyFactory = Callable[[], DifficultyRule]

DIFFICULTY_RULES: Registry[DifficultyFactory] = Registry(
    "difficulty rule (`difficulty=`)",
    {
        "proxy_psnr": ProxyPSNRDifficulty,
        "proxy_psnr_sample": functools.partial(ProxyPSNRDifficulty, per="sample"),
        "perceiver": PerceiverDifficulty,
    },
    how_to_add="add one with perceive_ir.perceive.losses.DIFFICULTY_RULES.register(name, factory)",
    error=InvalidValueError,
)
"""The difficulty rules ``difficulty=`` (and a recipe's ``loss.difficulty``) selects by name.

Each entry is a zero-argument factory returning a :class:`DifficultyRule`. Register your own and
select it by name anywhere a rule name is accepted:

Example:
    >>> class Constant(FixedDifficulty):
    ...     pass
    >>> DIFFICULTY_RULES.register("constant_2", functools.partial(Constant, 2.0), overwrite=True)
    >>> type(resolve_difficulty("constant_2")).__name__
    'Constant'
"""


def resolve_difficulty(difficulty: str | float | Sequence[float] | DifficultyRule) -> DifficultyRule:
    """The rule for ``difficulty``: a rule as it is, a :data:`DIFFICULTY_RULES` name, or fixed number(s).

    Raises:
        ValueError: an unknown name (the message lists the registered ones) or another kind of value.
        TypeError: a registered factory did not return a :class:`DifficultyRule`.

    Example:
        >>> type(resolve_difficulty("proxy_psnr_sample")).__name__, resolve_difficulty(0.5).values
        ('ProxyPSNRDifficulty', [0.5])
    """
    if isinstance(difficulty, DifficultyRule):
        return difficulty
    if isinstance(difficulty, str):
        rule = DIFFICULTY_RULES[difficulty]()
        if not isinstance(rule, DifficultyRule):
            raise InvalidTypeError(
                f"The difficulty rule factory {difficulty!r} returned {type(rule).__name__}, expected a DifficultyRule."
            )
        return rule
    if isinstance(difficulty, (int, float)) or (
        isinstance(difficulty, (list, tuple)) and all(isinstance(v, (int, float)) for v in difficulty)
    ):
        return FixedDifficulty(difficulty)
    raise InvalidValueError(
        f"`difficulty` must be a registered rule name ({', '.join(DIFFICULTY_RULES.names())}), a number, a list of "
        f"numbers or a DifficultyRule, got {difficulty!r}."
    )
