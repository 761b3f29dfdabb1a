"""The pipeline's artifact store: encrypted, access-logged, expiring.

A customer managed key only when a stage deploys into another account: that account's deploy
role must decrypt the artifacts, which S3-managed keys cannot grant across accounts.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stages.compliance import accept_sse_s3_for_access_logs, acknowledge, logical_id

# Artifacts are rebuilt by every release; keep them long enough to investigate one.
ARTIFACT_EXPIRY_DAYS = 90
ACCESS_LOG_EXPIRY_DAYS = 365
NONCURRENT_EXPIRY_DAYS = 30


class ArtifactStore(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cross_account: bool) -> None:
        super().__init__(scope, construct_id)
        # Who read or changed what is about to be deployed belongs in a log of its own;
        # S3 delivers access logs only to SSE-S3 buckets.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(ACCESS_LOG_EXPIRY_DAYS),
                    noncurrent_version_expiration=Duration.days(NONCURRENT_EXPIRY_DAYS),
                )
            ],
        )
        self.key: kms.Key | None = None
        if cross_account:
            self.key = kms.Key(
                self,
                "Key",
                description="Encrypts the release pipeline's artifacts",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS if self.key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=self.key,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            # Versioned as CodePipeline recommends for artifact stores: an artifact overwritten
            # during a release stays readable.
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireArtifacts",
                    expiration=Duration.days(ARTIFACT_EXPIRY_DAYS),
                    noncurrent_version_expiration=Duration.days(NONCURRENT_EXPIRY_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        accept_sse_s3_for_access_logs(self.access_logs)
        if self.key is None:
            acknowledge(
                self.bucket,
                "Every stage is in the pipeline's account: only this account's roles read the "
                "artifacts, and SSE-S3 encrypts them at rest. A customer managed key would add "
                "a monthly charge and no reader to exclude; one is created as soon as a stage "
                "is in another account.",
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
            )
        acknowledge(
            self,
            "Release artifacts are rebuilt from the repository by every release and expire "
            "after 90 days; a cross-Region copy would protect nothing the repository does not.",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
        )


ARTIFACT_REASON = (
    "CDK's grants on the pipeline's artifact bucket and key and the release topic's key "
    "(exact ARNs): action families and the object wildcard move artifacts between actions."
)
_ARTIFACT_ACTION_FAMILIES = (
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "s3:Abort*",
    "s3:DeleteObject*",
    "s3:GetBucket*",
    "s3:GetObject*",
    "s3:List*",
)


def artifact_findings(store: ArtifactStore) -> tuple[str, ...]:
    """The findings CDK's artifact grants raise on a role that moves artifacts."""
    return (
        *(f"AwsSolutions-IAM5[Action::{action}]" for action in _ARTIFACT_ACTION_FAMILIES),
        f"AwsSolutions-IAM5[Resource::<{logical_id(store.bucket)}.Arn>/*]",
    )
