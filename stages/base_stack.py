"""Stack base class: the stage's environment and AZs come from config, never from lookups."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stack
from constructs import Construct

from config import StageConfig


class DrStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            **kwargs,
        )
        self._availability_zones = list(config.availability_zones)

    @property
    def availability_zones(self) -> list[str]:
        # With an explicit account, CDK would otherwise ask for an AZ lookup at synth time.
        return self._availability_zones
