"""Resource types the stage-wide checks (behavioural and live) look at."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# Whatever holds data or protects it: these live in the Data stack and are kept by retained
# stages.
STATEFUL_TYPES = (
    "AWS::RDS::DBCluster",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::Backup::BackupVault",
)
# Physical names CloudFormation should generate: none of these may be set (the cross-account
# roles excepted).
NAME_PROPERTIES = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::RDS::DBInstance": "DBInstanceIdentifier",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Events::Rule": "Name",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::EC2::SecurityGroup": "GroupName",
}
# Names CloudFormation requires: CDK derives them from the construct path, so each stage gets
# its own (the vault's also from its stack's id, so it is a JSON-rendered Fn::Join).
REQUIRED_NAMES: dict[str, Callable[[dict[str, Any]], str]] = {
    "AWS::Backup::BackupVault": lambda p: json.dumps(p["BackupVaultName"], sort_keys=True),
    "AWS::Backup::BackupPlan": lambda p: str(p["BackupPlan"]["BackupPlanName"]),
    "AWS::RDS::DBProxy": lambda p: str(p["DBProxyName"]),
    "AWS::RDS::DBProxyEndpoint": lambda p: str(p["DBProxyEndpointName"]),
}
