"""The restore validator's bundle, assembled by the function synth uses: its entry point,
dr_common, the RDS CA bundle and the dependencies, and an import that defers boto3 and pg8000
to first use (a cold start pays for them only when a validation needs them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stages.components.bundling import RESTORE_VALIDATOR, ROOT, Bundle

# What a validation loads when it first needs it. (Powertools imports the botocore package
# itself for its user agent, a millisecond; the SDK's clients are what cost.)
DEFERRED = ("boto3", "botocore.client", "botocore.session", "pg8000", "ssl")


def test_the_bundle_holds_the_entry_point_its_packages_and_the_ca_bundle(tmp_path: Path) -> None:
    RESTORE_VALIDATOR.assemble(tmp_path)
    for path in ("handler.py", "dr_restore/entry.py", "dr_common/objectives.py", "pg8000"):
        assert (tmp_path / path).exists(), path
    assert (tmp_path / "aws_lambda_powertools").is_dir()
    assert not (tmp_path / "jsii").exists()  # only the distributions it names
    ca = (tmp_path / "rds-ca-bundle.pem").read_bytes()
    assert ca == (ROOT / "build" / "rds-ca-bundle.pem").read_bytes()
    assert not list(tmp_path.rglob("__pycache__")) and not list(tmp_path.rglob("*.pyc"))
    assert not (tmp_path / "bin").exists()


def test_a_bundle_without_packages_holds_only_its_own_source(tmp_path: Path) -> None:
    health_check = Bundle(ROOT / "lambda" / "health_check")
    health_check.assemble(tmp_path)
    handler = (tmp_path / "handler.py").read_bytes()
    assert handler == (health_check.source / "handler.py").read_bytes()
    assert (tmp_path / "dr_health" / "canary.py").exists()
    assert not (tmp_path / "dr_common").exists() and not (tmp_path / "rds-ca-bundle.pem").exists()


def test_the_entry_point_imports_from_the_bundle_alone_and_defers_boto3_and_pg8000(
    tmp_path: Path,
) -> None:
    RESTORE_VALIDATOR.assemble(tmp_path)
    code = (
        f"import json, sys\nDEFERRED = {DEFERRED!r}\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import handler\n"
        "print(json.dumps({'file': handler.__file__, 'entry': handler.handler.__module__,\n"
        "    'loaded': sorted(m for m in DEFERRED if m in sys.modules)}))\n"
    )
    # -I: no PYTHONPATH, no user site, and not this checkout on the path: as in Lambda, only
    # the bundle and the interpreter's own packages (boto3, which the runtime provides).
    result = subprocess.run(
        [sys.executable, "-I", "-c", code],
        cwd=tmp_path,
        env={"POWERTOOLS_SERVICE_NAME": "dr-restore-validator-test", "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    found = json.loads(result.stdout.splitlines()[-1])
    assert found["file"] == str(tmp_path / "handler.py")
    assert found["loaded"] == []
