"""Refresh config/data/ from the installed cfn-lint (`make aws-data`): the Availability Zone
names per Region and the Aurora PostgreSQL instance classes of the engine version the stage
deploys. cfn-lint keeps both up to date with AWS; the config refuses anything outside them
at synth time, so a typo never waits for CloudFormation to reject it."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from cfnlint import helpers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.aws_data import AURORA_CLASSES_FILE, ZONES_FILE  # noqa: E402
from stages.components.database import ENGINE_VERSION  # noqa: E402

CLASS_RULES = (
    Path(helpers.__file__).parent
    / "data/schemas/extensions/aws_rds_dbinstance/db_instance_class.json"
)


def aurora_postgresql_classes(version: str) -> list[str]:
    for rule in json.loads(CLASS_RULES.read_text())["allOf"]:
        condition = rule["if"]["properties"]
        if condition["Engine"].get("const") != "aurora-postgresql":
            continue
        if re.fullmatch(condition["EngineVersion"]["pattern"], version):
            classes: list[str] = rule["then"]["properties"]["DBInstanceClass"]["enum"]
            # The config names provisioned classes without "db." (CDK adds it back).
            return sorted(c.removeprefix("db.") for c in classes if c != "db.serverless")
    raise SystemExit(f"cfn-lint has no instance classes for aurora-postgresql {version}")


def main() -> None:
    version = ENGINE_VERSION.aurora_postgres_full_version
    zones = {region: sorted(names) for region, names in sorted(helpers.AVAILABILITY_ZONES.items())}
    ZONES_FILE.write_text(json.dumps(zones, indent=1) + "\n")
    classes = {"engineVersion": version, "instanceClasses": aurora_postgresql_classes(version)}
    AURORA_CLASSES_FILE.write_text(json.dumps(classes, indent=1) + "\n")
    print(f"wrote {ZONES_FILE.relative_to(ROOT)} and {AURORA_CLASSES_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
