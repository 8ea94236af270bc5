"""Task names and integer task ids, shared by the datasets (`perceive_ir.data.tasks`) and the losses."""

from __future__ import annotations

from .errors import InvalidTypeError, InvalidValueError

__all__ = ["TASKS", "TASK_IDS", "task_id", "task_name"]

#: The five all-in-one tasks, in id order.
TASKS: tuple[str, ...] = ("denoise", "derain", "dehaze", "deblur", "lowlight")

#: Task name → integer id (stable; new tasks are only ever appended).
TASK_IDS: dict[str, int] = {name: i for i, name in enumerate(TASKS)}


def task_id(task: str | int) -> int:
    """The integer id of a task name (ints pass through after a range check).

    Raises:
        ValueError: unknown name or id.

    Example:
        >>> task_id("derain")
        1
    """
    if isinstance(task, bool):
        raise InvalidTypeError("`task` must be a task name or int id, got a bool.")
    if isinstance(task, int):
        if task < 0:
            raise InvalidValueError(f"`task` id must be >= 0, got {task}.")
        return task
    if task not in TASK_IDS:
        raise InvalidValueError(f"Unknown task {task!r}; known: {list(TASKS)} (or pass an integer id).")
    return TASK_IDS[task]


def task_name(task: int) -> str:
    """The name of a task id, or ``"task<id>"`` for ids beyond the standard five.

    Example:
        >>> task_name(2)
        'dehaze'
    """
    return TASKS[task] if 0 <= task < len(TASKS) else f"task{task}"
