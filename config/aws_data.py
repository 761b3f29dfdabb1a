"""AWS facts the configuration is checked against, shipped as data (config/data/, refreshed
from cfn-lint by `make aws-data`): synth does no lookups, so these are what "exists" means."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
ZONES_FILE = DATA / "availability_zones.json"
AURORA_CLASSES_FILE = DATA / "aurora_postgresql_instance_classes.json"


@cache
def availability_zones() -> dict[str, tuple[str, ...]]:
    """The Availability Zone names known in each Region. Names map to different physical
    zones per account, but the set of names a Region offers is the same."""
    data: dict[str, list[str]] = json.loads(ZONES_FILE.read_text())
    return {region: tuple(zones) for region, zones in data.items()}


@cache
def aurora_instance_classes() -> frozenset[str]:
    """Provisioned instance classes (without "db.") of the stage's Aurora PostgreSQL version."""
    data: dict[str, list[str]] = json.loads(AURORA_CLASSES_FILE.read_text())
    return frozenset(data["instanceClasses"])
