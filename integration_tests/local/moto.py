"""moto's server on 127.0.0.1 with the stage's table (point-in-time recovery on), bucket, data
key, backup vault key and notification topic, the master secret (the local PostgreSQL's
superuser stands for the RDS master user), IAM enforced, and STS.

moto's DynamoDB reports the table's EarliestRestorableDateTime and LatestRestorableDateTime
both as the moment point-in-time recovery was turned on (the stage's start), and never moves
them: an age computed from LatestRestorableDateTime grows with the session here.

The function's calls are signed with the access key of a moto IAM user whose policy mirrors
the template's grants (PutItem/GetItem on the table, Put/GetObject on the canary object,
KMS). Once the resources exist, moto's IAM enforcement is switched on (POST
/moto-api/reset-auth with 0, what moto's own `set_initial_no_auth_action_count` does in
server mode): from then on moto checks every request's signature and evaluates the caller's
identity policies, so a Deny added to the function's user is enforced. moto evaluates
DynamoDB actions against the resource `*` (only S3 gets the object's ARN), so the grants
here use `*` where the template names the table (and the secret: moto evaluates Secrets
Manager's actions the same way). The database roles bootstrap signs with a user of its own,
allowed only to read secrets. Everything after setup, including the harness's own calls, is
signed with an admin user's key.

moto's STS serves AssumeRole: with IAM enforced it checks the caller's signature, its identity
policy (sts:AssumeRole on the role) and the role's trust policy, and issues temporary
credentials. The stand-in, which serves the calls made with them, looks them up in moto's state
(`issued_credentials`) rather than issuing its own.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from integration_tests.local.processes import as_child, free_port, port_open, wait_until
from integration_tests.standin import Keys
from integration_tests.standin.auth import ACCOUNT_ID, Credentials

FUNCTION_USER = "health-check-function"
BOOTSTRAP_USER = "database-roles-bootstrap"
ADMIN_USER = "dr-local-admin"
_DENY_POLICY = "fault-injection-deny"


@dataclass(frozen=True)
class MotoStage:
    url: str
    region: str
    table_name: str
    table_arn: str
    bucket_name: str
    key_arn: str  # the data key: the table's, the bucket's and (locally) the cluster's
    backup_key_arn: str  # the backup vault's
    topic_arn: str  # the stage's notifications
    admin: Keys
    function: Keys  # the function's "execution role"
    bootstrap: Keys  # the database roles bootstrap's
    master_secret_arn: str

    def master_secret(self) -> dict[str, str]:
        value = self.client("secretsmanager").get_secret_value(SecretId=self.master_secret_arn)
        secret: dict[str, str] = json.loads(value["SecretString"])
        return secret

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.admin.access_key_id,
            aws_secret_access_key=self.admin.secret_access_key,
        )

    @contextmanager
    def denied(self, actions: Sequence[str], user: str = FUNCTION_USER) -> Iterator[None]:
        """The IAM user (by default the function's) is explicitly denied `actions` while
        inside."""
        iam = self.client("iam")
        statement = {"Effect": "Deny", "Action": list(actions), "Resource": "*"}
        iam.put_user_policy(
            UserName=user,
            PolicyName=_DENY_POLICY,
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        try:
            yield
        finally:
            iam.delete_user_policy(UserName=user, PolicyName=_DENY_POLICY)


ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class MotoProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def wait_ready(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        wait_until(lambda: port_open(port) or self.process.poll() is not None, "moto_server")
        if self.process.poll() is not None:
            raise RuntimeError(f"moto_server exited: {self.log_file.read_text()}")


@contextmanager
def moto_server(log_file: Path) -> Iterator[MotoProcess]:
    """Started, not yet waited for (it starts while the caller does other work)."""
    port = free_port()
    with log_file.open("w") as log:
        process = subprocess.Popen(
            as_child(
                [
                    sys.executable,
                    "-m",
                    "integration_tests.local.moto_main",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(port),
                ]
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,  # the repository, so `integration_tests` imports
        )
        try:
            yield MotoProcess(f"http://127.0.0.1:{port}", process, log_file)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def create_stage(
    url: str,
    region: str,
    key_schema: list[dict[str, str]],
    attribute_definitions: list[dict[str, str]],
    bucket_name: str,
    *,
    master_user: str,
) -> MotoStage:
    def client(service: str) -> Any:
        # Before IAM is enforced any key works; this one exists nowhere.
        return boto3.client(
            service,
            endpoint_url=url,
            region_name=region,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )

    kms = client("kms")
    key_arn = str(kms.create_key(Description="dr local data key")["KeyMetadata"]["Arn"])
    backup_key_arn = str(kms.create_key(Description="dr local backup key")["KeyMetadata"]["Arn"])
    topic_arn = str(client("sns").create_topic(Name="dr-local-notifications")["TopicArn"])
    ddb = client("dynamodb")
    created = ddb.create_table(
        TableName="dr-local-table",
        KeySchema=key_schema,
        AttributeDefinitions=attribute_definitions,
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
    )
    # As the stage's table has it (the Table construct's point_in_time_recovery).
    ddb.update_continuous_backups(
        TableName="dr-local-table",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket_name)
    s3.put_bucket_versioning(Bucket=bucket_name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket_name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": key_arn,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    # Like the RDS-managed secret: JSON with the username and password, nothing else. The local
    # server's `trust` authentication ignores the password, but the bootstrap sends it.
    master_secret_arn = str(
        client("secretsmanager").create_secret(
            Name="dr-local-master",
            SecretString=json.dumps(
                {"username": master_user, "password": secrets.token_urlsafe(24)}
            ),
        )["ARN"]
    )
    iam = client("iam")
    admin = iam_user(iam, ADMIN_USER, [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    function = iam_user(
        iam,
        FUNCTION_USER,
        [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:PutItem", "dynamodb:GetItem"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": f"arn:aws:s3:::{bucket_name}/*",
            },
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
        ],
    )
    bootstrap = iam_user(
        iam,
        BOOTSTRAP_USER,
        [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    )
    table_description = created["TableDescription"]
    return MotoStage(
        url=url,
        region=region,
        table_name=str(table_description["TableName"]),
        table_arn=str(table_description["TableArn"]),
        bucket_name=bucket_name,
        key_arn=key_arn,
        backup_key_arn=backup_key_arn,
        topic_arn=topic_arn,
        admin=admin,
        function=function,
        bootstrap=bootstrap,
        master_secret_arn=master_secret_arn,
    )


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"


def assumable_role(stage: MotoStage, role_arn: str, trusted_user: str) -> None:
    """A role that trusts one IAM user, as the stage's post-deploy role trusts only its
    pipeline's runner role (sessions of up to an hour, IAM's default)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": user_arn(trusted_user)},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    stage.client("iam").create_role(
        RoleName=role_arn.rsplit("/", 1)[1],
        AssumeRolePolicyDocument=json.dumps(trust),
        MaxSessionDuration=3600,
    )


def issued_credentials(url: str) -> Any:
    """The stand-in's issuer: moto's STS's temporary credentials, by access key id, from its
    state (/moto-api/data.json), with the role they were issued for as their principal."""

    def lookup(access_key_id: str) -> Credentials | None:
        with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=10) as response:
            state = json.loads(response.read())
        for role in state.get("sts", {}).get("AssumedRole", []):
            if role["access_key_id"] == access_key_id:
                return Credentials(
                    access_key_id,
                    role["secret_access_key"],
                    role["session_token"],
                    principal=role["role_arn"],
                    arn=role["arn"],
                )
        return None

    return lookup


def iam_user(iam: Any, name: str, statements: list[dict[str, Any]]) -> Keys:
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="grants",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Keys(str(key["AccessKeyId"]), str(key["SecretAccessKey"]))


def enforce_iam(url: str) -> None:
    # text/plain: moto reads the count from the raw body, which a form content type hides.
    request = urllib.request.Request(
        f"{url}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def create_stacks(stage: MotoStage, stage_name: str, outputs: dict[str, dict[str, str]]) -> None:
    """`<stage>-Data` and `<stage>-Service` stacks carrying the given outputs, so the suite's
    by-stage-name target can read them with describe_stacks as it does in AWS."""
    cloudformation = stage.client("cloudformation")
    for suffix, values in outputs.items():
        template = {
            "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {key: {"Value": value} for key, value in values.items()},
        }
        cloudformation.create_stack(
            StackName=f"{stage_name}-{suffix}", TemplateBody=json.dumps(template)
        )
