"""What happens to a stateful resource when its stack, or the resource itself, goes away."""

from __future__ import annotations

from aws_cdk import RemovalPolicy


def removal_policy(retain: bool) -> RemovalPolicy:
    """Retained stages keep the resource on delete and on replacement, but not when the stack
    operation that created it rolls back (CloudFormation's RetainExceptOnCreate): it holds no
    data then, and a kept copy would only be an orphan for someone to find and delete."""
    return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if retain else RemovalPolicy.DESTROY
