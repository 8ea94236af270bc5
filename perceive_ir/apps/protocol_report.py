"""Write an ``adair3`` / ``adair5`` result as ``results.json`` (strict JSON) and ``results.md``, atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes, remove_stale_temporaries
from .published_results import published_for

__all__ = ["PROTOCOL_SETTINGS", "protocol_document", "protocol_markdown", "write_protocol_results"]

#: Which published setting each protocol's paper average compares with, and under which key it is.
PROTOCOL_SETTINGS: dict[str, tuple[str, str]] = {"adair3": ("3-task", "column_mean"),
                                                 "adair5": ("5-task", "paper_average")}


def protocol_document(result: Mapping[str, Any], model: str, **extra: Any) -> dict[str, Any]:
    """The JSON document: the model, ``extra`` facts (device, data root), the result, the published averages.

    Example:
        >>> doc = protocol_document({"protocol": "adair3", "records": []}, "demo")
        >>> doc["model"], [r["method"] for r in doc["published"]][:2]
        ('demo', ['AirNet', 'PromptIR'])
    """
    setting, _ = PROTOCOL_SETTINGS[result["protocol"]]
    return {"model": model, **extra, **result, "published": [asdict(r) for r in published_for(setting)]}


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def protocol_markdown(doc: Mapping[str, Any]) -> str:
    """Render :func:`protocol_document` as Markdown: protocol, one row per group, averages beside published ones.

    Example:
        >>> doc = protocol_document({"protocol": "adair3", "statement": {}, "records": [], "groups": {},
        ...                          "column_mean": None, "count": 0, "expected": 804}, "demo")
        >>> protocol_markdown(doc).splitlines()[0]
        '# Evaluation (adair3): demo'
    """
    protocol = doc["protocol"]
    setting, average_key = PROTOCOL_SETTINGS[protocol]
    lines = [f"# Evaluation ({protocol}): {doc['model']}", "", "## Protocol", ""]
    lines += [f"- **{k}**: {v}" for k, v in doc.get("statement", {}).items()]
    lines += ["", f"{doc.get('count', 0)} of the full benchmark's {doc.get('expected', '?')} cases.", "",
              "## Results", "", "| group | N | PSNR (dB) | SSIM | input PSNR | input SSIM |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, g in doc.get("groups", {}).items():
        lines.append(f"| {name} | {g['count']} | {_fmt(g['psnr'], 2)} | {_fmt(g['ssim'], 4)} | "
                     f"{_fmt(g['input_psnr'], 2)} | {_fmt(g['input_ssim'], 4)} |")
    column = doc.get("column_mean")
    lines += ["", f"Mean of the groups' means (`column_mean`): {_fmt(column and column['psnr'], 2)} dB / "
              f"{_fmt(column and column['ssim'], 4)}."]
    average = doc.get(average_key)
    lines += ["", f"## The paper's {setting} average beside published ones", "",
              "| method | PSNR (dB) | SSIM | source |", "|---|---:|---:|---|"]
    lines += [f"| {r['method']} (published) | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['citation']} |"
              for r in doc["published"]]
    if average is not None:
        lines.append(f"| **this model** | {average['psnr']:.2f} | {average['ssim']:.3f} | "
                     f"measured here (`{average_key}`) |")
    else:
        lines.append("| this model | – | – | incomplete: a group has no image |")
    lines += ["", "Published numbers were not re-measured here; compare only with a model trained for that setting."]
    return "\n".join(lines).rstrip() + "\n"


def write_protocol_results(doc: Mapping[str, Any], out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``results.json`` (strict JSON: no NaN or Infinity) and ``results.md`` into ``out``, each atomically.

    Raises:
        ValueError: a non-finite number in ``doc`` (nothing is written then).

    Example:
        >>> import tempfile
        >>> doc = protocol_document({"protocol": "adair5", "records": [], "groups": {}}, "demo")
        >>> [p.name for p in write_protocol_results(doc, tempfile.mkdtemp())]
        ['results.json', 'results.md']
    """
    data = json.dumps(doc, indent=1, allow_nan=False).encode()
    text = protocol_markdown(doc).encode()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder, "results.*")
    json_path, md_path = folder / "results.json", folder / "results.md"
    atomic_write_bytes(json_path, data)
    atomic_write_bytes(md_path, text)
    return json_path, md_path
