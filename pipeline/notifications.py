"""The release team's topic: failed releases and approvals waiting, encrypted with its own key."""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct, IConstruct


class ReleaseNotifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, emails: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the release pipeline's notifications topic",
            enable_key_rotation=True,
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="DR release pipeline",
            master_key=self.key,
            enforce_ssl=True,
        )
        # Targeting this topic with a notification rule makes CDK add the CodeStar Notifications
        # principal to the topic policy and to this key's policy (encrypt for SNS).
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    @property
    def topic_policy(self) -> IConstruct:
        """The topic's policy (created by CDK when a statement is first added to it)."""
        return self.topic.node.find_child("Policy")
