"""Training curves as a CSV file, rewritten atomically so a plot never reads half a row."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path

from .._atomic import atomic_write_bytes

__all__ = ["MetricsLog"]


class MetricsLog:
    """Rows of ``step, epoch, lr, loss, <terms>...`` kept in memory and written to a CSV.

    On resume, the rows already on disk are read back and those after the resumed step are
    dropped, so the file describes exactly one uninterrupted run.

    Args:
        path: The CSV file.
        resume_step: Keep the existing rows up to this step (``None``: start a new file).

    Example:
        >>> import tempfile
        >>> log = MetricsLog(Path(tempfile.mkdtemp()) / "metrics.csv")
        >>> log.append({"step": 1, "loss": 0.5}); log.append({"step": 2, "loss": 0.4, "rec": 0.3})
        >>> log.flush(); log.path.read_text().splitlines()[0]
        'step,loss,rec'
    """

    def __init__(self, path: str | os.PathLike[str], resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, float | int]] = []
        if resume_step is not None and self.path.is_file():
            with self.path.open(newline="") as f:
                for row in csv.DictReader(f):
                    values = {k: float(v) for k, v in row.items() if v not in ("", None)}
                    if values.get("step", 0) <= resume_step:
                        self.rows.append({k: int(v) if k in ("step", "epoch") else v for k, v in values.items()})

    def append(self, row: Mapping[str, float | int]) -> None:
        """Add one row (any keys; the header is the union, in first-seen order)."""
        self.rows.append(dict(row))

    def flush(self) -> None:
        """Write every row to ``path`` through a temporary file and a rename."""
        columns: list[str] = []
        for row in self.rows:
            columns += [k for k in row if k not in columns]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.path, buffer.getvalue().encode())
