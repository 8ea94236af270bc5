"""Task names and the integer task ids used as ``labels=`` of the contrastive loss.

The table lives in the infrastructure module ``perceive_ir._tasks`` so that the loss (which
masks each proxy restorer by the tasks it is valid for) reads the same ids as the datasets.
"""

from __future__ import annotations

from .._tasks import TASK_IDS, TASKS, task_id, task_name

__all__ = ["TASKS", "TASK_IDS", "task_id", "task_name"]
