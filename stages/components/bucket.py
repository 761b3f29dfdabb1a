"""Versioned, CMK-encrypted S3 bucket with access logs and a noncurrent-version lifecycle."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stages.compliance import accept_sse_s3_for_access_logs, acknowledge
from stages.components.removal import removal_policy

# Noncurrent versions move to Standard-IA after 30 days (the earliest S3 allows) and are
# deleted 90 days after becoming noncurrent, i.e. 60 days in Standard-IA: past its 30-day
# minimum storage duration, so no early-deletion fee is ever charged.
NONCURRENT_TO_IA_DAYS = 30
NONCURRENT_EXPIRY_DAYS = 90
ACCESS_LOG_EXPIRY_DAYS = 365


class Bucket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.key = key
        removal = removal_policy(retain)

        def private_bucket(bucket_id: str, **settings: Any) -> s3.Bucket:
            return s3.Bucket(
                self,
                bucket_id,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                minimum_tls_version=1.2,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                removal_policy=removal,
                auto_delete_objects=not retain,
                **settings,
            )

        # S3 delivers access logs only to buckets encrypted with SSE-S3 (not SSE-KMS).
        self.access_logs = private_bucket(
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            # Versioned, so an overwritten or deleted log is still there for a while.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(ACCESS_LOG_EXPIRY_DAYS),
                    noncurrent_version_expiration=Duration.days(NONCURRENT_EXPIRY_DAYS),
                )
            ],
        )
        self.bucket = private_bucket(
            "Bucket",
            versioned=True,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="data-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="NoncurrentVersions",
                    noncurrent_version_transitions=[
                        s3.NoncurrentVersionTransition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(NONCURRENT_TO_IA_DAYS),
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(NONCURRENT_EXPIRY_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        accept_sse_s3_for_access_logs(self.access_logs)
        acknowledge(
            self,
            "The DR stage is single-Region by design (README: DR objectives): no cross-Region "
            "copy is made; versioning and AWS Backup protect the data within the Region.",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
        )
