"""The validator's environment: every setting the template gives, each refused by name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from dr_restore.settings import SettingsError

from tests.validator.fakes import JOB_ID
from tests.validator.support import ENV, settings


def test_the_contract_s_environment() -> None:
    found = settings()
    assert found.ca_file == Path("/var/task/rds-ca-bundle.pem")
    assert (found.step_delay_seconds, found.instance_wait, found.instance_delete_wait) == (
        60,
        timedelta(minutes=30),
        timedelta(minutes=20),
    )
    assert found.targets["aurora"].rto == timedelta(hours=4)
    assert found.targets["s3"].rpo == timedelta(hours=2)
    assert settings(DB_CA_BUNDLE="/tmp/local-ca.crt").ca_file == Path("/tmp/local-ca.crt")


def test_the_instance_id_is_the_prefix_and_the_job_s_letters() -> None:
    instance = settings().instance_id(JOB_ID)
    assert instance == "drv-ab12345678c90123456d789012e34567"
    assert len(instance) <= 63


@pytest.mark.parametrize("name", [n for n in ENV if not n.startswith("POWERTOOLS_")])
def test_each_setting_is_required_by_name(name: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} is not set$"):
        settings(**{name: ""})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DB_PORT", "70000", "DB_PORT must be 1 to 65535, not 70000"),
        ("STEP_DELAY_SECONDS", "901", "STEP_DELAY_SECONDS must be 0 to 900, not 901"),
        (
            "INSTANCE_WAIT_SECONDS",
            "soon",
            "INSTANCE_WAIT_SECONDS must be a whole number, not 'soon'",
        ),
        ("TARGET_RPO_SECONDS_S3", "0", "TARGET_RPO_SECONDS_S3 must be at least 1, not 0"),
        ("VALIDATION_INSTANCE_PREFIX", "1drv-", "cannot start an RDS instance identifier"),
        ("VALIDATION_INSTANCE_PREFIX", "dr--v", "cannot start an RDS instance identifier"),
        ("VALIDATION_INSTANCE_PREFIX", "d" * 32, "cannot start an RDS instance identifier"),
    ],
)
def test_unusable_values_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings(**{name: value})
