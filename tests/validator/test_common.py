"""dr_common as its three users get it: the canary contract agrees with the health check's,
errors become one line without secrets, and importing it loads no database driver."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

from dr_common import canary
from dr_common.errors import one_line
from tests.validator.fakes import client_error

ROOT = Path(__file__).resolve().parents[2]


def test_the_canary_contract_is_the_one_the_health_check_writes() -> None:
    sys.path.insert(0, str(ROOT / "lambda" / "health_check"))
    try:
        written = importlib.import_module("dr_health.canary")
    finally:
        sys.path.remove(str(ROOT / "lambda" / "health_check"))
    names = (
        "DYNAMODB_KEY",
        "DYNAMODB_ITEM_ID",
        "WRITTEN_AT",
        "S3_OBJECT_KEY",
        "POSTGRES_TABLE",
        "POSTGRES_ROW_ID",
    )
    assert {name: getattr(canary, name) for name in names} == {
        name: getattr(written, name) for name in names
    }
    moment = written.now()
    assert canary.from_s3_body(written.s3_body(moment)) == moment
    assert canary.from_text(written.to_text(moment)) == moment


def test_errors_read_as_one_line() -> None:
    assert (
        one_line(client_error("NoSuchBucket", "GetObject")) == "NoSuchBucket: NoSuchBucket message"
    )
    database = Exception({"S": "FATAL", "C": "28P01", "M": "password authentication\nfailed"})
    assert one_line(database) == "28P01 password authentication failed"
    assert one_line(TimeoutError("timed out")) == "TimeoutError: timed out"


def test_errors_carry_no_token_or_key() -> None:
    token = "host:5432/?Action=connect&DBUser=dr_validator&X-Amz-Signature=abcdef"
    line = one_line(
        RuntimeError(f"failed with {token} and password=hunter2 for AKIAABCDEFGHIJKLMNOP")
    )
    assert "abcdef" not in line and "hunter2" not in line and "AKIA" not in line
    assert len(one_line(RuntimeError("x" * 1000))) == 300


def test_importing_dr_common_loads_no_database_driver() -> None:
    """The post-deploy step has no pg8000, and a Lambda cold start should not pay for it."""
    code = (
        "import sys; sys.modules['pg8000'] = None\n"
        "import dr_common.canary, dr_common.errors, dr_common.objectives, dr_common.postgres, "
        "dr_common.restore_job, dr_common.stores\n"
        "assert 'boto3' not in sys.modules, 'boto3 at import'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
