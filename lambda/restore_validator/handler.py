"""The restore validator's entry point, `handler.handler` (see dr_restore/entry.py)."""

from dr_restore.entry import handler

__all__ = ["handler"]
