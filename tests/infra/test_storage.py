"""KMS keys, the DynamoDB table and the S3 buckets."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from tests.support.synthesis import Synthesis
from tests.support.templates import get_att, logical_id, only, props, resources

DATA_KEY = "EncryptionDataKey4CB32E29"
BUCKET = "BucketD7FEB781"
ACCESS_LOGS = "BucketAccessLogs0AA7ED48"


def test_four_rotating_customer_managed_keys(dev_data: Template) -> None:
    keys = resources(dev_data, "AWS::KMS::Key")
    assert len(keys) == 4  # data, backup, notifications, logs
    assert all(props(key)["EnableKeyRotation"] is True for key in keys.values())


def test_keys_of_recovery_points_are_kept_in_every_stage(
    synthesis: Synthesis, prod_data: Template, dev_data: Template
) -> None:
    assert {k["DeletionPolicy"] for k in resources(prod_data, "AWS::KMS::Key").values()} == {
        "RetainExceptOnCreate"
    }
    keys = synthesis.stages["dev"].data.keys
    policies = {
        key_id: key["DeletionPolicy"]
        for key_id, key in resources(dev_data, "AWS::KMS::Key").items()
    }
    # Recovery points of the retained vault are under these two; the topic's key may go.
    assert policies == {
        logical_id(keys.data): "RetainExceptOnCreate",
        logical_id(keys.backup): "RetainExceptOnCreate",
        logical_id(keys.notifications): "Delete",
        logical_id(keys.logs): "Delete",
    }


def test_log_groups_are_encrypted_by_this_accounts_cloudwatch_logs_only(
    synthesis: Synthesis, dev_data: Template, dev_service: Template
) -> None:
    keys = synthesis.stages["dev"].data.keys
    for template in (dev_data, dev_service):
        for group in resources(template, "AWS::Logs::LogGroup").values():
            assert "LogsKey" in json.dumps(props(group)["KmsKeyId"]), group
    key = resources(dev_data, "AWS::KMS::Key")[logical_id(keys.logs)]
    [statement] = [
        s
        for s in props(key)["KeyPolicy"]["Statement"]
        if s.get("Sid") == "CloudWatchLogsOfThisAccount"
    ]
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:555555555555:log-group:*"
        }
    }


def test_notifications_key_lets_alarms_and_events_publish(dev_data: Template) -> None:
    key = resources(dev_data, "AWS::KMS::Key")["EncryptionNotificationsKey824AFC4E"]
    statements = props(key)["KeyPolicy"]["Statement"]
    [statement] = [s for s in statements if "Service" in s["Principal"]]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Principal"]["Service"]) == [
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    ]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    # Service principals never get the data key.
    data_key = resources(dev_data, "AWS::KMS::Key")[DATA_KEY]
    assert not [s for s in props(data_key)["KeyPolicy"]["Statement"] if "Service" in s["Principal"]]


def table(template: Template) -> dict[str, Any]:
    return only(template, "AWS::DynamoDB::Table")[1]


def test_table_shape_billing_encryption_and_pitr(dev_data: Template) -> None:
    properties = props(table(dev_data))
    assert properties["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {
        "KMSMasterKeyId": get_att(DATA_KEY, "Arn"),
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert properties["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True,
        "RecoveryPeriodInDays": 35,
    }


def test_table_is_protected_only_in_prod(prod_data: Template, dev_data: Template) -> None:
    assert props(table(prod_data))["DeletionProtectionEnabled"] is True
    assert table(prod_data)["DeletionPolicy"] == "Retain"  # see test_stage.RETAINED_STAGE
    assert props(table(dev_data))["DeletionProtectionEnabled"] is False
    assert table(dev_data)["DeletionPolicy"] == "Delete"


def bucket(template: Template, bucket_id: str = BUCKET) -> dict[str, Any]:
    return resources(template, "AWS::S3::Bucket")[bucket_id]


def test_bucket_is_versioned_cmk_encrypted_and_private(dev_data: Template) -> None:
    properties = props(bucket(dev_data))
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": get_att(DATA_KEY, "Arn"),
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": ACCESS_LOGS}


def test_buckets_refuse_plain_http_and_old_tls(dev_data: Template) -> None:
    for bucket_id in (BUCKET, ACCESS_LOGS):
        dev_data.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": bucket_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    "Effect": "Deny",
                                }
                            ),
                            Match.object_like(
                                {
                                    "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}},
                                    "Effect": "Deny",
                                }
                            ),
                        ]
                    )
                },
            },
        )


def test_noncurrent_versions_go_cold_then_expire_without_early_deletion_fee(
    dev_data: Template,
) -> None:
    [rule] = props(bucket(dev_data))["LifecycleConfiguration"]["Rules"]
    [transition] = rule["NoncurrentVersionTransitions"]
    assert transition == {"StorageClass": "STANDARD_IA", "TransitionInDays": 30}
    # Standard-IA bills at least 30 days: expiring 60 days after the move pays no fee.
    assert (
        rule["NoncurrentVersionExpiration"]["NoncurrentDays"] - transition["TransitionInDays"] >= 30
    )
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_access_log_bucket_uses_sse_s3(dev_data: Template) -> None:
    encryption = props(bucket(dev_data, ACCESS_LOGS))["BucketEncryption"]
    assert encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }


def test_buckets_retained_in_prod_and_emptied_then_deleted_in_dev(
    prod_data: Template, dev_data: Template
) -> None:
    for bucket_id in (BUCKET, ACCESS_LOGS):
        assert bucket(prod_data, bucket_id)["DeletionPolicy"] == "RetainExceptOnCreate"
        assert bucket(dev_data, bucket_id)["DeletionPolicy"] == "Delete"
    assert len(resources(dev_data, "Custom::S3AutoDeleteObjects")) == 2
    assert resources(prod_data, "Custom::S3AutoDeleteObjects") == {}
