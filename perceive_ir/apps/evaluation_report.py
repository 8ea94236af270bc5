"""Write evaluation results as ``results.json`` and ``results.md`` (atomically), with published numbers."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes, remove_stale_temporaries
from .evaluation import EvaluationRow, setting_averages
from .published_results import SETTINGS, published_for

__all__ = ["results_document", "results_markdown", "write_results"]

_STANDARD = {dataset for keys in SETTINGS.values() for dataset, _ in keys}


def results_document(rows: Sequence[EvaluationRow], protocol: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The JSON document: model, protocol, rows (with per-image scores), setting averages, published numbers.

    Example:
        >>> doc = results_document([], {"color": "RGB"}, "demo")
        >>> doc["rows"], doc["published"]
        ([], [])
    """
    averages = setting_averages(rows)
    published = [asdict(r) for s in averages for r in published_for(s)]
    return {
        "model": model,
        "protocol": dict(protocol),
        "rows": [r.to_dict() for r in rows],
        "averages": averages,
        "published": published,
    }


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def results_markdown(doc: Mapping[str, Any]) -> str:
    """Render :func:`results_document` as Markdown: protocol, per-task table, averages vs published.

    Example:
        >>> print(results_markdown(results_document([], {"color": "RGB"}, "demo")).splitlines()[0])
        # Evaluation: demo
    """
    lines = [f"# Evaluation: {doc['model']}", "", "## Protocol", ""]
    lines += [f"- **{k}**: {v}" for k, v in doc["protocol"].items()]
    lines += ["", "## Results", "", "| test set | task | N | PSNR (dB) | SSIM |", "|---|---|---:|---:|---:|"]
    for r in doc["rows"]:
        lines.append(f"| {r['label']} | {r['task']} | {r['n']} | {_fmt(r['psnr'], 2)} | {_fmt(r['ssim'], 4)} |")
    averages = doc["averages"]
    if averages:
        lines += ["", "## Standard settings: this model beside published averages", ""]
        for setting, avg in averages.items():
            sets = ", ".join(f"{d} {g}" if g else d for d, g in SETTINGS[setting])
            lines += [f"### {setting} (average over {sets})", ""]
            lines += ["| method | PSNR (dB) | SSIM | source |", "|---|---:|---:|---|"]
            for r in doc["published"]:
                if r["setting"] == setting:
                    lines.append(f"| {r['method']} (published) | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['citation']} |")
            if avg["complete"]:
                lines.append(f"| **this model** | {avg['psnr']:.2f} | {avg['ssim']:.3f} | measured here |")
            else:
                lines.append(f"| this model | – | – | incomplete: missing {', '.join(avg['missing'])} |")
            lines.append("")
        lines.append(
            "Published numbers are the averages reported in each paper, under that paper's own training "
            "setting; they were not re-measured here. Compare only with a model trained on the same setting."
        )
    return "\n".join(lines).rstrip() + "\n"


def write_results(
    rows: Sequence[EvaluationRow], out: str | os.PathLike[str], protocol: Mapping[str, Any], model: str
) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` into ``out`` (created if needed), each atomically.

    Returns:
        The two paths.

    Example:
        >>> import tempfile
        >>> [p.name for p in write_results([], tempfile.mkdtemp(), {"color": "RGB"}, "demo")]
        ['results.json', 'results.md']
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    doc = results_document(rows, protocol, model)
    json_path, md_path = folder / "results.json", folder / "results.md"
    remove_stale_temporaries(folder, "results.*")  # left by an evaluation killed while writing
    atomic_write_bytes(json_path, json.dumps(doc, indent=1, allow_nan=False).encode())  # strict JSON
    atomic_write_bytes(md_path, results_markdown(doc).encode())
    return json_path, md_path
