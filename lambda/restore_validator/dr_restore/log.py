"""The validator's logger: a standard library logger, so the decisions it logs can be tested
without Powertools; entry.py hands it Powertools' JSON handler (one line per record, with the
invocation's context and each record's `extra` keys)."""

from __future__ import annotations

import logging

logger = logging.getLogger("dr_restore")
