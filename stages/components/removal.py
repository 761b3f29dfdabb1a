"""What happens to a stateful resource when its stack, or the resource itself, goes away."""

from __future__ import annotations

from aws_cdk import RemovalPolicy


def removal_policy(retain: bool) -> RemovalPolicy:
    """Retained stages keep the resource on delete and on replacement, but not when the stack
    operation that created it rolls back (CloudFormation's RetainExceptOnCreate): it holds no
    data then, and a kept copy would only be an orphan for someone to find and delete."""
    return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if retain else RemovalPolicy.DESTROY


def protected_removal_policy(retain: bool) -> RemovalPolicy:
    """For a resource with deletion protection on in retained stages (the cluster, the table):
    always Retain. CloudFormation cannot delete it, not even to roll back the create that
    made it, and trying (RetainExceptOnCreate, Snapshot, Delete) leaves the stack in
    ROLLBACK_FAILED; with Retain a failed first create ends in ROLLBACK_COMPLETE and leaves
    the empty resource behind (README: "A stage's very first deploy fails")."""
    return RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
