"""The restore validator: decides SUCCESSFUL or FAILED for each completed restore job of the
stage's restore testing plan, from the canaries the health check wrote into the restored copy.

One concern per module: `entry` (the Lambda entry point: SQS records in, nothing raised but
what must be retried), `settings` (the environment), `messages` (the EventBridge event and the
validator's own step messages), `validation` (the decisions, phase by phase), `aurora` (the
RDS calls for the validation instance), `reading` (each store's canary, through dr_common),
`report` (PutRestoreValidationResult exactly once), `metrics` (embedded metric format),
`clients` (boto3 on first use) and `log`.
"""
