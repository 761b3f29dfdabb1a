"""Session fixtures only (helpers live in tests/support/):

- `synthesis`: the behavioural tests' one in-process synthesis of the fixed configuration;
- `live`: the gates' run over the live cdk.json (the CDK CLI's synth, then cfn-lint), started
  in the background as soon as collection ends, so it overlaps the in-process work. Gate tests
  run last.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from aws_cdk.assertions import Template

from tests.support import live_run
from tests.support.synthesis import Synthesis, fixed_context, synthesize

GATES = "gates"


def _is_gate(item: pytest.Item) -> bool:
    return GATES in item.path.parts


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_is_gate)


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(_is_gate(item) for item in session.items):
        live_run.start()


@pytest.fixture(scope="session")
def live() -> live_run.LiveRun:
    return live_run.start().result()  # already running when collection found gate tests


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesize(fixed_context(), tmp_path_factory.mktemp("cdk.out"))


def _template(stack_name: str, fixture_name: str) -> Callable[[Synthesis], Template]:
    """A session fixture returning one stack's template from the shared synthesis."""

    def fixture(synthesis: Synthesis) -> Template:
        return synthesis.templates[stack_name]

    return pytest.fixture(scope="session", name=fixture_name)(fixture)


dev_data = _template("Dev-Data", "dev_data")
dev_service = _template("Dev-Service", "dev_service")
prod_data = _template("Prod-Data", "prod_data")
prod_service = _template("Prod-Service", "prod_service")
pipeline_template = _template("Pipeline", "pipeline_template")
