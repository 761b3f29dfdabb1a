"""A deployed stage, by name: the outputs of its `<Stage>-Data` and `<Stage>-Service` stacks
(the stage's name as in cdk.json; its stacks' prefix capitalizes it, `dev` -> `Dev-Data`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dr_cli.aws import Aws
from dr_cli.errors import CliError
from dr_common.objectives import Targets

STORES = ("aurora", "dynamodb", "s3")


def stack_prefix(name: str) -> str:
    if not name or not name.replace("-", "").isalnum():
        raise CliError(f"{name!r} is not a stage name (letters, digits and hyphens, e.g. dev)")
    return name[0].upper() + name[1:]


@dataclass(frozen=True)
class Stage:
    name: str  # the stacks' prefix, e.g. Dev
    region: str
    outputs: Mapping[str, str]  # both stacks' outputs
    created_at: datetime | None = None  # the Data stack's creation: the stage's age

    @classmethod
    def load(cls, aws: Aws, name: str) -> Stage:
        prefix = stack_prefix(name)
        outputs: dict[str, str] = {}
        created_at: datetime | None = None
        cloudformation = aws.client("cloudformation")
        for suffix in ("Data", "Service"):
            stack_name = f"{prefix}-{suffix}"
            try:
                [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
            except Exception as error:
                if "does not exist" in str(error):
                    raise CliError(
                        f"unknown stage {name!r}: no stack {stack_name} in {aws.region_name} "
                        "(the stage's name as in cdk.json, in its Region: --region)"
                    ) from None
                raise
            outputs.update({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
            if suffix == "Data":
                created_at = stack.get("CreationTime")
        return cls(prefix, aws.region_name, outputs, created_at)

    def output(self, key: str) -> str:
        value = self.outputs.get(key)
        if not value:
            raise CliError(
                f"stage {self.name} has no output {key}: deploy this release to it first"
            )
        return value

    # The stores and what protects them ---------------------------------------------------

    @property
    def table_name(self) -> str:
        return self.output("TableName")

    @property
    def table_arn(self) -> str:
        return self.output("TableArn")

    @property
    def bucket_name(self) -> str:
        return self.output("BucketName")

    @property
    def bucket_arn(self) -> str:
        partition = self.table_arn.split(":")[1]
        return f"arn:{partition}:s3:::{self.bucket_name}"

    @property
    def cluster_arn(self) -> str:
        return self.output("ClusterArn")

    @property
    def cluster_id(self) -> str:
        return self.cluster_arn.rsplit(":", 1)[-1]

    def resource_arn(self, store: str) -> str:
        return {"aurora": self.cluster_arn, "dynamodb": self.table_arn, "s3": self.bucket_arn}[
            store
        ]

    def targets(self, store: str) -> Targets:
        try:
            found = json.loads(self.output("RestoreTargets"))[store]
            return Targets(
                rpo=timedelta(seconds=int(found["rpoSeconds"])),
                rto=timedelta(seconds=int(found["rtoSeconds"])),
            )
        except (ValueError, KeyError, TypeError):
            raise CliError(
                f"stage {self.name}'s RestoreTargets output has no targets for {store}"
            ) from None
