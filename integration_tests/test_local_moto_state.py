"""Local only: moto's state dump (/moto-api/data.json), through which the stand-in finds the
credentials moto's STS issued, answers while S3 objects and buckets come and go
(local/moto_main.py repairs two ways moto's own dump fails)."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from moto.core.model_instances import model_data as tracked

from integration_tests.local import moto_main
from integration_tests.local.harness import LocalStage


def _dump(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _churn(s3: Any, name: str) -> None:
    """A versioned bucket with versions and a delete marker, emptied and deleted, as the
    release drill's clean-up does."""
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"1", b"2"):
        s3.put_object(Bucket=name, Key="canary.json", Body=body)
    s3.delete_object(Bucket=name, Key="canary.json")
    listed = s3.list_object_versions(Bucket=name)
    versions = [
        {"Key": v["Key"], "VersionId": v["VersionId"]}
        for kind in ("Versions", "DeleteMarkers")
        for v in listed.get(kind, [])
    ]
    s3.delete_objects(Bucket=name, Delete={"Objects": versions, "Quiet": True})
    s3.delete_bucket(Bucket=name)


def test_the_dump_answers_after_a_deleted_buckets_objects(local_stage: LocalStage) -> None:
    _churn(local_stage.moto.client("s3"), f"dr-dump-{uuid.uuid4().hex[:8]}")
    assert _dump(local_stage.moto.url) == 200


class _Racing:
    """A model whose attributes do, within one dump, what another request's thread does
    between moto's check of a value and its final serialization: `b` (read after `a`)
    puts a model object into the list `a` returned, and `c` raises as a deleted bucket's
    object does."""

    instances_tracked: ClassVar[list[Any]] = []

    def __init__(self) -> None:
        self.shared: list[Any] = ["fine"]

    @property
    def a(self) -> list[Any]:
        return self.shared

    @property
    def b(self) -> str:
        self.shared.append(object())
        return "later"

    @property
    def c(self) -> str:
        raise RuntimeError("MissingBucket")


@pytest.fixture
def racing() -> Iterator[None]:
    _Racing.instances_tracked = [_Racing()]
    tracked["zz-test"]["Racing"] = _Racing
    yield
    del tracked["zz-test"]


def test_a_value_changed_during_the_dump_is_dumped_as_it_was_checked(racing: None) -> None:
    status, _, body = moto_main.model_data(None, None, "", {})
    assert status == 200, body
    [racing_dump] = json.loads(body)["zz-test"]["Racing"]
    assert racing_dump["a"] == ["fine"] and racing_dump["b"] == "later"
    assert "c" not in racing_dump
