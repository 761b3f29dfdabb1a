"""What every reader of a restored copy shares: the scheduled restore validator (a Lambda
bundle), the release's restore drill (the post-deploy suite, which has only pytest and boto3)
and an operator's command.

- `canary`: the canaries the health check writes, as a reader finds them;
- `restore_job`: the facts of an AWS Backup restore job (DescribeRestoreJob) and which store
  and restored resource it concerns;
- `stores`: reading the newest canary from a restored table, bucket or database (directly,
  or through the stage's database reader function);
- `postgres`: signing in to a restored database (IAM token, TLS verified against a CA file);
- `aurora`: the instance a restored Aurora cluster needs to be read (create, describe, delete);
- `objectives`: measured RPO and RTO, and the verdict against each store's targets;
- `errors`: any failure as one line, for a verdict's reason.

Standard library and boto3 only; pg8000 is imported on first use (the post-deploy step does
not install it, and a Lambda cold start should not pay for it before it connects).
"""
