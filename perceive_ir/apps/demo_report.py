"""The report folder of ``perceive-ir demo``: results table, curves, crops, perceiver ratings."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._atomic import atomic_write_bytes
from ..errors import InvalidTypeError
from ..inference.restore import restore
from ..perceive.perceiver import QualityPerceiver
from .demo_models import DemoModels
from .demo_settings import DEMO_TASKS, TEST_PHOTOS, TRAIN_PHOTOS, DemoSettings

__all__ = ["DemoReportInputs", "write_report"]


def _note(settings: DemoSettings) -> str:
    if settings.offline:
        return ("Offline run: CLIP and DINOv2 are tiny RANDOM models built from configs, so the perceiver and "
                "the semantic guidance carry no pretrained knowledge. The pipeline runs end to end; the numbers "
                "say nothing about the method. Pass --clip-model ViT-B-32 --clip-pretrained openai "
                "--semantic-encoder facebook/dinov2-base where the Hugging Face Hub is reachable.")
    return (f"CLIP {settings.clip_model} ({settings.clip_pretrained}), DINOv2 {settings.semantic_encoder}. "
            "A demonstration budget on a handful of photographs, not a benchmark.")


def _protocol(settings: DemoSettings, multiple: int) -> str:
    tasks = ", ".join(f"{t} ({p})" for t, p in DEMO_TASKS.items())
    return (f"3-task degradations {tasks} on {settings.scene_size}² scenes of the scikit-image photographs; "
            f"train {', '.join(TRAIN_PHOTOS)} ({settings.scenes_per_photo} scenes each), test "
            f"{', '.join(TEST_PHOTOS)} (2 scenes each). Both models: nafnet-small backbone, same initial weights "
            f"(the identity: last convolution zeroed), {settings.steps} steps, batch {settings.batch_size}, "
            f"{settings.crop}² crops, task repeats {settings.task_repeats}, AdamW lr {settings.lr} warmup-cosine, "
            f"gradient clip {settings.grad_clip}, seed {settings.seed}. PSNR/SSIM (torchmetrics) on RGB in [0, 1], "
            f"whole image, padded to a multiple of {multiple} and cropped back. Medium tier: 2-fold cross-fitting "
            f"({settings.crossfit_restorer} restorer, {settings.crossfit_steps} steps per half; the paper's: a "
            f"Restormer, 20K steps); perceiver: {settings.perceiver_steps} prompt steps.")


def _read_curve(path: Path) -> tuple[list[int], list[float]]:
    steps, losses = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            steps.append(int(float(row["step"])))
            losses.append(float(row["rec"]))
    return steps, losses


def _save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)


def _plots(
    out: Path, curves: Mapping[str, Path], rows: list[tuple[str, list[torch.Tensor]]], columns: list[str]
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, path in curves.items():
        steps, losses = _read_curve(path)
        ax.plot(steps, losses, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("L1 to the clean image (training batches)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    _save_figure(fig, out / "curves.png")

    fig, axes = plt.subplots(len(rows), len(columns), figsize=(2.3 * len(columns), 2.4 * len(rows)), squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            axes[r][c].imshow(image.clamp(0, 1).permute(1, 2, 0).cpu().numpy())
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title(columns[c], fontsize=9)
        axes[r][0].set_ylabel(label, fontsize=9)
    fig.tight_layout()
    _save_figure(fig, out / "crops.png")


def _tier_sentence(subject: str, accuracy: Mapping[str, float]) -> str:
    """``subject``'s held-out tier accuracy against chance, with the recall of each tier."""
    a = accuracy
    return (f"{subject}: tier accuracy {a['accuracy']:.2f} against chance {a['chance']:.2f} (recall low "
            f"{a['low_recall']:.2f}, medium {a['medium_recall']:.2f}, high {a['high_recall']:.2f}).")


@dataclass(frozen=True)
class DemoReportInputs:
    """What a ``perceive-ir demo`` run produced, for :func:`write_report`.

    Attributes:
        settings: The run's settings.
        results: Per evaluated model (the two trained ones, and the authors' restorer when
            given), per task, its PSNR / SSIM (and the input's): one column of the table each.
        curves: Model name → its training-loss CSV.
        perceiver: The stage-1 perceiver, which rates inputs and outputs.
        test_sets: Task → its test dataset (the first scene of each is shown and rated).
        models: Column label → network, restored in the crops.
        manifest: The triplet manifest of stage 1.
        hooked_layers: The guided layers of the wrapped model.
        multiple: The size multiple the images are padded to.
        loss_note: A sentence on the loss, appended to the protocol.
        tier_accuracy: The stage-1 perceiver's accuracy on held-out triplets
            (:meth:`~perceive_ir.apps.demo.DemoWorkspace.held_out_tier_accuracy`).
        seconds: The run's wall time.
        official_tier_accuracy: The same accuracy for the authors' prompts, when given.
        saved: Where the trained networks and the perceiver were saved.
    """

    settings: DemoSettings
    results: Mapping[str, Mapping[str, Mapping[str, float]]]
    curves: Mapping[str, Path]
    perceiver: QualityPerceiver
    test_sets: Mapping[str, Any]
    models: Mapping[str, nn.Module]
    manifest: Path
    hooked_layers: list[str]
    multiple: int
    loss_note: str = ""
    tier_accuracy: Mapping[str, float] | None = None
    seconds: float | None = None
    official_tier_accuracy: Mapping[str, float] | None = None
    saved: DemoModels | None = None


def write_report(out: Path, inputs: DemoReportInputs | None = None, **fields: Any) -> None:
    """Write ``results.json``, ``results.md``, ``curves.png`` and ``crops.png`` into ``out``.

    Args:
        out: The report folder (created if needed).
        inputs: What the run produced.
        **fields: Instead of ``inputs``, its fields as keywords (the former signature, still taken).

    Raises:
        TypeError: both ``inputs`` and keywords, or neither (a missing field).
    """
    if inputs is None:
        inputs = DemoReportInputs(**fields)
    elif fields:
        raise InvalidTypeError(f"Give `inputs` or its fields as keywords, not both: got {sorted(fields)} too.")
    out.mkdir(parents=True, exist_ok=True)
    columns = ["degraded", *inputs.models, "clean"]
    rows, ratings = _crops_and_ratings(inputs, columns)
    _plots(out, inputs.curves, rows, columns)
    doc = _results_document(inputs, ratings)
    atomic_write_bytes(out / "results.json", json.dumps(doc, indent=2).encode())
    atomic_write_bytes(out / "results.md", "\n".join(_markdown(out, inputs, doc, ratings, columns)).encode())


def _crops_and_ratings(
    inputs: DemoReportInputs, columns: list[str]
) -> tuple[list[tuple[str, list[torch.Tensor]]], dict[str, dict[str, list[float]]]]:
    """The first test scene of each task, degraded / restored by each model / clean, and the perceiver's ratings."""
    rows, ratings = [], {}
    with torch.no_grad():
        for task, dataset in inputs.test_sets.items():
            sample = dataset[0]
            degraded, clean = sample["degraded"][None], sample["clean"][None]
            restored = [restore(m, degraded, multiple=inputs.multiple).clamp(0, 1) for m in inputs.models.values()]
            images = [degraded, *restored, clean]
            rows.append((task, [x[0] for x in images]))
            probs = inputs.perceiver.probabilities(torch.cat(images))
            ratings[task] = {col: [round(float(p), 3) for p in row] for col, row in zip(columns, probs, strict=True)}
    return rows, ratings


def _results_document(inputs: DemoReportInputs, ratings: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """The content of ``results.json``."""
    saved = inputs.saved
    return {
        "note": _note(inputs.settings),
        "protocol": " ".join(filter(None, [_protocol(inputs.settings, inputs.multiple), inputs.loss_note])),
        "results": inputs.results,
        "hooked_layers": inputs.hooked_layers,
        "perceiver_tier_probabilities": {"tiers": ["low", "medium", "high"], "by_task": ratings},
        "perceiver_held_out_tier_accuracy": dict(inputs.tier_accuracy) if inputs.tier_accuracy is not None else None,
        "authors_perceiver_held_out_tier_accuracy": (
            dict(inputs.official_tier_accuracy) if inputs.official_tier_accuracy is not None else None
        ),
        "triplet_manifest": str(inputs.manifest),
        "saved_models": {label: str(path) for label, path in saved.models.items()} if saved else None,
        "saved_perceiver": str(saved.perceiver) if saved and saved.perceiver else None,
        "wall_seconds": inputs.seconds,
    }


def _markdown(
    out: Path, inputs: DemoReportInputs, doc: Mapping[str, Any], ratings: dict[str, dict[str, list[float]]],
    columns: list[str],
) -> list[str]:
    """The lines of ``results.md``."""
    results = inputs.results
    lines = [
        "# perceive-ir demo", "", f"> {doc['note']}", "", f"Protocol: {doc['protocol']}", "",
        "| task | input PSNR / SSIM | " + " | ".join(f"{name} PSNR / SSIM (gain)" for name in results) + " |",
        "|---" * (len(results) + 2) + "|",
    ]
    first = next(iter(results.values()))
    for task, reference in first.items():
        cells = [f"{r['psnr']:.2f} / {r['ssim']:.3f} ({r['psnr'] - r['psnr_input']:+.2f} dB)"
                 for r in (by_model[task] for by_model in results.values())]
        lines.append(f"| {task} | {reference['psnr_input']:.2f} / {reference['ssim_input']:.3f} | "
                     + " | ".join(cells) + " |")
    lines += ["", f"Guided layers of the wrapped model: {', '.join(inputs.hooked_layers)}.", ""]
    lines += _run_facts(out, inputs)
    lines += ["Perceiver tier probabilities (low / medium / high) on the first test scene of each task:", "",
              "| task | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for task, by_column in ratings.items():
        lines.append(f"| {task} | " + " | ".join(" / ".join(f"{p:.2f}" for p in by_column[c]) for c in columns) + " |")
    return [*lines, "", "![training curves](curves.png)", "", "![crops](crops.png)", ""]


def _run_facts(out: Path, inputs: DemoReportInputs) -> list[str]:
    """The sentences on the perceivers' accuracy, the wall time and the kept networks (those known)."""
    lines: list[str] = []
    ours, authors = inputs.tier_accuracy, inputs.official_tier_accuracy
    if ours is not None:
        lines += [_tier_sentence(f"Stage-1 perceiver on {ours['triplets']} held-out triplets (test "
                                 "scenes; medium = a cross-fit restorer that never saw them)", ours), ""]
    if authors is not None:
        lines += [_tier_sentence(f"The authors' stage-1 prompts on the same {authors['triplets']} triplets", authors),
                  ""]
    if inputs.seconds is not None:
        lines += [f"Wall time of the whole run: {inputs.seconds:.0f} s.", ""]
    saved = inputs.saved
    if saved is not None and saved.models:
        kept = ", ".join(f"{label}: `{path}`" for label, path in saved.models.items())
        lines += [f"Trained networks kept: {kept}; perceiver: `{saved.perceiver}`. Try them on any photograph in "
                  f"the web page: `perceive-ir app --demo-report {out}` (needs `pip install 'perceive-ir[app]'`).", ""]
    return lines
