"""In-process tests of dr_common (canary reading, RPO/RTO and the verdict) and of the restore
validator's decisions (lambda/restore_validator/dr_restore) against in-memory AWS clients.

The Lambda runtime imports the bundle from its root: so do these tests (dr_common is a
top-level package of the repository, and of the bundle). The validator run from its bundle
against the local emulator is in integration_tests/test_local_restore_*.py.
"""

import sys
from pathlib import Path

_BUNDLE_ROOT = str(Path(__file__).resolve().parents[2] / "lambda" / "restore_validator")
if _BUNDLE_ROOT not in sys.path:
    sys.path.insert(0, _BUNDLE_ROOT)
