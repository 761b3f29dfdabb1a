"""In-process tests of the health-check handler's pure parts (lambda/health_check/dr_health).

The Lambda runtime imports the bundle from its root: so do these tests. Anything that waits,
starts servers or runs the bundled handler against stores is in integration_tests/.
"""

import sys
from pathlib import Path

_BUNDLE_ROOT = str(Path(__file__).resolve().parents[2] / "lambda" / "health_check")
if _BUNDLE_ROOT not in sys.path:
    sys.path.insert(0, _BUNDLE_ROOT)
