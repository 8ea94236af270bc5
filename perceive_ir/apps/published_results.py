"""Published all-in-one restoration results, for side-by-side comparison in evaluation reports.

Only averages are recorded: PSNR (dB) / SSIM over the tasks of each standard setting, as
reported by the papers (and compiled in the project's design notes). Nothing here is measured
by this library.

* **3-task**: CBSD68 denoising at σ 15, 25, 50, Rain100L deraining, SOTS-outdoor dehazing
  (average of those five test sets).
* **5-task**: CBSD68 denoising at σ 25, Rain100L, SOTS-outdoor, GoPro deblurring, LOL-v1
  low-light enhancement (average of those five test sets).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidValueError

__all__ = ["PUBLISHED_RESULTS", "SETTINGS", "PublishedResult", "published_for"]

#: The standard settings: name → the evaluation rows (test set, degradation) whose average is reported.
SETTINGS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "3-task": (("cbsd68", "noise15"), ("cbsd68", "noise25"), ("cbsd68", "noise50"),
               ("rain100l", None), ("sots_outdoor", None)),
    "5-task": (("cbsd68", "noise25"), ("rain100l", None), ("sots_outdoor", None), ("gopro", None), ("lol", None)),
}


@dataclass(frozen=True)
class PublishedResult:
    """One published average.

    Attributes:
        method: Method name.
        setting: ``"3-task"`` or ``"5-task"`` (see :data:`SETTINGS`).
        psnr: Average PSNR in dB.
        ssim: Average SSIM.
        citation: The paper that reports the number: the method's own paper, unless the number
            was reported by another one (PromptIR's 5-task average comes from the Perceive-IR
            paper's table; PromptIR's own paper reports no 5-task number).
    """

    method: str
    setting: str
    psnr: float
    ssim: float
    citation: str


_AIRNET = "Li et al., All-in-One Image Restoration for Unknown Corruption (AirNet), CVPR 2022"
_PROMPTIR = "Potlapalli et al., PromptIR: Prompting for All-in-One Blind Image Restoration, NeurIPS 2023"
_PERCEIVE = ("Zhang et al., Perceive-IR: Learning to Perceive Degradation Better for All-in-One Image "
             "Restoration, arXiv 2408.15994 / IEEE TIP 2025")
_ADAIR = "Cui et al., AdaIR: Adaptive All-in-One Image Restoration via Frequency Mining and Modulation, ICLR 2025"
_PROMPTIR_IN_PERCEIVE = ("PromptIR as reported in " + _PERCEIVE + ", 5-task table (PromptIR's own paper "
                         "reports no 5-task number)")
_MOCE = ("Zamfir et al., Complexity Experts are Task-Discriminative Learners for Any Image Restoration (MoCE-IR), "
         "CVPR 2025")

#: The published averages (PSNR / SSIM), both settings.
PUBLISHED_RESULTS: tuple[PublishedResult, ...] = (
    PublishedResult("AirNet", "3-task", 31.20, 0.910, _AIRNET),
    PublishedResult("PromptIR", "3-task", 32.06, 0.913, _PROMPTIR),
    PublishedResult("Perceive-IR", "3-task", 32.63, 0.917, _PERCEIVE),
    PublishedResult("AdaIR", "3-task", 32.69, 0.918, _ADAIR),
    PublishedResult("MoCE-IR", "3-task", 32.73, 0.917, _MOCE),
    PublishedResult("PromptIR", "5-task", 29.15, 0.904, _PROMPTIR_IN_PERCEIVE),
    PublishedResult("Perceive-IR", "5-task", 29.84, 0.909, _PERCEIVE),
    PublishedResult("AdaIR", "5-task", 30.20, 0.910, _ADAIR),
    PublishedResult("MoCE-IR", "5-task", 30.58, 0.919, _MOCE),
)


def published_for(setting: str) -> list[PublishedResult]:
    """The published averages of one setting, in increasing PSNR.

    Raises:
        ValueError: unknown setting.

    Example:
        >>> [r.method for r in published_for("5-task")]
        ['PromptIR', 'Perceive-IR', 'AdaIR', 'MoCE-IR']
    """
    if setting not in SETTINGS:
        raise InvalidValueError(f"Unknown `setting` {setting!r}; known: {sorted(SETTINGS)}.")
    return sorted((r for r in PUBLISHED_RESULTS if r.setting == setting), key=lambda r: r.psnr)
