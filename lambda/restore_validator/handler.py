"""The restore validator's entry points: `handler.handler` (dr_restore/entry.py) and, for a
validator that runs outside the VPC, the database reader `handler.read_database`
(dr_restore/reader.py)."""

from dr_restore.entry import handler
from dr_restore.reader import handler as read_database

__all__ = ["handler", "read_database"]
