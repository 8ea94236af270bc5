"""Regenerate the table of ``docs/wrap_backbone.md``: what the automatic rule picks on each spandrel architecture.

Run ``python -m tests.retrofit.spandrel_table`` from the repository root; it rewrites the lines between
the ``spandrel-table`` markers. ``test_spandrel_sweep.py`` fails when the table is stale.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import torch

from perceive_ir.retrofit.wrap import wrap_backbone

from .spandrel_zoo import ZOO, Entry
from .test_spandrel_sweep import DOC, wrap_options

START, END = "<!-- spandrel-table:start -->", "<!-- spandrel-table:end -->"


def _args(values: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items()).replace("|", "\\|")


def row(entry: Entry) -> str:
    torch.manual_seed(0)
    wrap = {k: v for k, v in entry.wrap.items() if k != "probe_size"}
    first = f"| {entry.name} | `{entry.cls}({_args(entry.kwargs)})` | {_args(wrap) or '—'} | ×{entry.scale} |"
    try:
        model = wrap_backbone(entry.build(), **wrap_options(entry))
    except ValueError as err:
        reason = str(err).split(":")[1].split(".")[0].strip()
        return f"{first} refused: {reason} |"
    return f"{first} `{', '.join(model.hooked_layers)}` |"


def table() -> str:
    lines = [
        "| network | built with | wrap options | scale | `hooked_layers` |",
        "|---|---|---|---|---|",
    ]
    lines += [row(e) for e in ZOO]
    return "\n".join(lines)


def main() -> int:
    warnings.filterwarnings("ignore")
    text = DOC.read_text()
    if START not in text or END not in text:
        print(f"{DOC} has no {START} ... {END} markers", file=sys.stderr)
        return 1
    new = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{table()}\n{END}", text, flags=re.S)
    Path(DOC).write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
