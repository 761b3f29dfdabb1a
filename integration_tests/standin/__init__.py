"""A local stand-in for the AWS APIs that moto cannot serve here, over HTTP on 127.0.0.1.

moto has no AWS Backup jobs or restores, runs Lambda code only in Docker, and its RDS gives
endpoints that exist nowhere. This one small server answers, after botocore's service
models and the AWS API reference:

- AWS Backup (rest-json): StartBackupJob (PUT /backup-jobs), DescribeBackupJob
  (GET /backup-jobs/{id}), ListBackupJobs (GET /backup-jobs/), DescribeBackupVault
  (GET /backup-vaults/{name}), ListRecoveryPointsByResource
  (GET /resources/{resourceArn}/recovery-points/). Jobs go CREATED -> RUNNING -> COMPLETED,
  or as scripted: through PENDING, to FAILED/ABORTED (through ABORTING)/EXPIRED/PARTIAL with
  a StatusMessage, or stuck CREATED or RUNNING. A vault lock fails jobs whose DeleteAfterDays
  is outside its retention. The IdempotencyToken makes a retried StartBackupJob return the
  same job. One backup job per resource at a time: a job started while a plan's job of the
  same resource is active (added through the control API) waits CREATED, then ends EXPIRED.
  A completed job's recovery point holds the data as of the job's start (restore.py's data
  plane).
- AWS Backup restores (rest-json, restore.py): StartRestoreJob, DescribeRestoreJob,
  ListRestoreJobs, GetRestoreJobMetadata, PutRestoreValidationResult, a restore testing
  plan's run (control API), restores into new resources, AWS Backup's clean-up after a final
  validation, and the "Restore Job State Change" events, sent to moto's EventBridge.
- RDS (query, XML, rds.py): the stage's live cluster, its point-in-time restores and the
  clusters AWS Backup restores: DescribeDBClusters, RestoreDBClusterToPointInTime,
  DeleteDBCluster, CreateDBInstance, DescribeDBInstances, DeleteDBInstance, with scripted
  statuses and a local PostgreSQL server as each cluster's endpoint.
- Lambda (rest-json): Invoke runs the synthesized function's handler in a warm worker
  process per function, and answers FunctionError/X-Amz-Function-Error for unhandled errors.

STS is moto's (it checks trust policies and signatures under IAM enforcement). Every request
here must carry a valid SigV4 signature by a key the stand-in knows (a registered base key,
or temporary credentials moto's STS issued, with their session token, looked up in moto's
state), so a test can prove which credentials signed each call. Listings are scoped to the
caller's principal; a key registered with the account view (the stage's operator) lists every
principal's recovery points and restore jobs. Errors use each protocol's
wire format (rest-json: HTTP status, `x-amzn-ErrorType` header, JSON `Message`; query: XML
`ErrorResponse`), so botocore raises the same ClientError codes it would against AWS and
retries what it would retry.

A control API under /_standin/ (see control.py) scripts the next job's outcome, adds a plan's
job, injects API errors, unusable answers (a raw body: JSON null, an HTML page) or answers
dripped a byte at a time on the next N calls of an operation, registers functions, keys
and vaults, starts a restore testing plan's run, scripts restored clusters, and returns the
record of requests (who called what, signed with which key).

Point boto3 at it per service: AWS_ENDPOINT_URL_BACKUP, AWS_ENDPOINT_URL_LAMBDA and (the
restore validator's) AWS_ENDPOINT_URL_RDS; AWS_ENDPOINT_URL (moto) serves everything else.
"""

from integration_tests.standin.control import FunctionTimings, Keys, StandinClient
from integration_tests.standin.lambda_service import FunctionConfig
from integration_tests.standin.server import Standin

__all__ = ["FunctionConfig", "FunctionTimings", "Keys", "Standin", "StandinClient"]
