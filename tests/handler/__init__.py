"""In-process tests of the Lambda handlers' pure parts: the health check's
(lambda/health_check/dr_health) and the database roles bootstrap's (lambda/db_bootstrap).

The Lambda runtime imports each bundle from its root: so do these tests. Anything that waits,
starts servers or runs a bundled handler against stores is in integration_tests/.
"""

import sys
from pathlib import Path

_LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
for _bundle_root in (str(_LAMBDA / "health_check"), str(_LAMBDA / "db_bootstrap")):
    if _bundle_root not in sys.path:
        sys.path.insert(0, _bundle_root)
