"""The committed JSON Schema is the model's, and the AWS facts shipped as data parse."""

from __future__ import annotations

import json
import re

from aws_cdk import region_info

from config import partition
from config.aws_data import AURORA_CLASSES_FILE, aurora_instance_classes, availability_zones
from config.schema import SCHEMA_FILE, render
from stages.components.database import ENGINE_VERSION
from tests.support.synthesis import ROOT, cdk_context


def test_committed_schema_is_generated_from_the_model() -> None:
    assert SCHEMA_FILE.read_text() == render(), "run `make schema` and commit the result"


def test_schema_admits_the_live_config_shape() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    assert set(schema["properties"]) == {"pipeline", "stages"}
    stage = schema["$defs"]["StageConfig"]
    assert stage["additionalProperties"] is False
    assert set(cdk_context()["dr"]["stages"][0]) - {"//"} <= set(stage["properties"])


def test_editors_find_the_schema_for_cdk_json() -> None:
    settings = json.loads((ROOT / ".vscode" / "settings.json").read_text())
    [mapping] = settings["json.schemas"]
    assert mapping["fileMatch"] == ["cdk.json"]
    wrapper = json.loads((ROOT / mapping["url"].removeprefix("./")).read_text())
    assert wrapper["properties"]["context"]["properties"]["dr"]["$ref"] == ("./" + SCHEMA_FILE.name)


def test_every_region_has_at_least_its_known_zones() -> None:
    zones = availability_zones()
    assert len(zones) > 30
    for region, names in zones.items():
        assert names, region
        for name in names:
            assert re.fullmatch(re.escape(region) + r"[a-z]", name), name
    assert zones["us-east-1"][:3] == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert len(zones["us-west-1"]) == 2  # a 3-AZ stage cannot live there


def test_instance_classes_are_those_of_the_deployed_engine_version() -> None:
    data = json.loads(AURORA_CLASSES_FILE.read_text())
    assert data["engineVersion"] == ENGINE_VERSION.aurora_postgres_full_version, (
        "the engine changed: run `make aws-data`"
    )
    classes = aurora_instance_classes()
    assert {"t4g.medium", "r7g.large", "r8g.large"} <= classes
    assert not {c for c in classes if c.startswith("db.") or c == "serverless"}


def test_partitions_agree_with_cdk() -> None:
    for region in availability_zones():
        known = region_info.RegionInfo.get(region).partition
        if known is not None:
            assert partition(region) == known, region
