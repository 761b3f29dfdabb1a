"""Release drill: the table and the bucket restored into new resources, their canaries read
and judged against the stage's RPO and RTO targets, everything made deleted (release_drill)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from integration_tests import release_drill
from integration_tests.target import Target


@pytest.mark.drill
@pytest.mark.parametrize("store", release_drill.STORES)
def test_the_release_drill_restores_and_proves_the_store(
    store: str,
    *,
    target: Target,
    progress: Callable[[str], None],
    release_points: dict[str, str],
    request: pytest.FixtureRequest,
) -> None:
    if not target.drill.enabled:
        pytest.skip(
            f"release drill not selected for stage {target.stage} ({target.drill.selected_by})"
        )
    aws: Any = request.getfixturevalue("aws")  # only now: a drill not selected needs none
    result = release_drill.prove(
        aws, target, store, release_points, lambda line: progress(f"[drill] {line}")
    )
    if result.report is not None:
        # Captured: the JUnit report's system-out of this case (the pipeline's step asks for
        # it), so the CodeBuild test report shows the drill's figures beside its verdict.
        print(result.report)
    if result.skipped:
        pytest.skip(result.skipped)
    if result.failure:
        pytest.fail(result.failure, pytrace=False)
