"""Fixtures the local restore tests share; a test module imports the ones it uses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration_tests.local.harness import LocalStage
from integration_tests.local.restore_stage import RestoreStage


@pytest.fixture(scope="module")
def restore(local_stage: LocalStage) -> Iterator[RestoreStage]:
    """The local stage's restore testing (plan, step queue, validator), one per module."""
    stage = RestoreStage(local_stage)
    try:
        yield stage
    finally:
        stage.close()
