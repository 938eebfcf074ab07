"""Publishing Celery tasks from services, after commit, by the task's name.

Tasks are thin entry points that call services (``care.tasks``, ``incidents.tasks``); a service that hands
work to a task names it instead of importing it, so the layers keep one direction and a worker never gets
a task for rows that were rolled back.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction


def enqueue_on_commit(task_name: str, *args: Any) -> None:
    """Publish ``task_name(*args)`` when the current transaction commits (at once outside one).

    The task must be registered (its module imported by its app's ``ready``), so eager mode in tests runs it
    in process as ``delay`` would; ``tests/test_architecture.py`` checks every name used here is registered.
    """
    transaction.on_commit(lambda: current_app.signature(task_name, args=args).apply_async())
