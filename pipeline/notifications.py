"""The release team's topic: failed releases and approvals waiting, encrypted with its own key."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct, IConstruct

NOTIFICATIONS_SERVICE = "codestar-notifications.amazonaws.com"


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
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
        # CodeStar Notifications publishes the pipeline's events: only this account's rules
        # may (confused deputy), as its documented topic policy does with aws:SourceAccount.
        account = Stack.of(self).account
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CodeStarNotificationsOfThisAccount",
                principals=[iam.ServicePrincipal(NOTIFICATIONS_SERVICE)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        # SNS encrypts what the service publishes under the topic's key, as the publisher.
        self.key.grant(
            iam.ServicePrincipal(NOTIFICATIONS_SERVICE), "kms:Decrypt", "kms:GenerateDataKey*"
        )

    @property
    def topic_policy(self) -> IConstruct:
        """The topic's policy (created by CDK when a statement is first added to it)."""
        return self.topic.node.find_child("Policy")
