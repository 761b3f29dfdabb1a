"""Lambda's SQS event source mapping, played locally: the step queue (moto SQS) drives the
validator (the stand-in's Lambda Invoke), batch size 1.

Each poll receives at most one message (moto honours a message's DelaySeconds: it is not
received before), with the mapping's visibility timeout, and invokes the function with the
event Lambda would send (`Records` of `aws:sqs` records). A message is deleted when the
invocation succeeds; after a function error or a timeout it stays, and is received again
once its visibility timeout has passed, as with a mapping without ReportBatchItemFailures.
Everything is bounded: a poll waits at most a second, a drive at most its timeout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    body: dict[str, Any]
    receive_count: int
    function_error: str | None
    payload: Any

    @property
    def kind(self) -> str:
        """`event:<status>` for a restore job event, `step:<phase>` for a step."""
        if self.body.get("type") == "dr-restore-validation-step":
            return f"step:{self.body['phase']}"
        detail = self.body.get("detail", {})
        return f"event:{detail.get('status') or detail.get('state')}"


class EventSourceMapping:
    def __init__(
        self,
        *,
        sqs: Any,
        lambda_: Any,
        queue_url: str,
        queue_arn: str,
        function_name: str,
        visibility_timeout: int,
        region: str,
    ) -> None:
        self._sqs, self._lambda = sqs, lambda_
        self._queue_url, self._queue_arn = queue_url, queue_arn
        self._function, self._visibility, self._region = function_name, visibility_timeout, region
        self.deliveries: list[Delivery] = []

    def poll(self, wait_seconds: int = 1) -> Delivery | None:
        answer = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=self._visibility,
            MessageSystemAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            return None
        [message] = messages
        response = self._lambda.invoke(
            FunctionName=self._function, Payload=json.dumps(self._event(message)).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        error = response.get("FunctionError")
        if error is None:
            self._sqs.delete_message(
                QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
        delivery = Delivery(
            json.loads(message["Body"]),
            int(message["Attributes"]["ApproximateReceiveCount"]),
            error,
            payload,
        )
        self.deliveries.append(delivery)
        return delivery

    def drive(self, until: Callable[[], bool], timeout: float) -> None:
        """Polls until `until()` holds (checked after each poll), or fails at the bound."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                kinds = [d.kind for d in self.deliveries]
                raise TimeoutError(f"not done within {timeout:g} s; deliveries: {kinds}")
            self.poll()

    def drain(self, timeout: float = 30.0) -> None:
        """Polls until the queue holds nothing: no message visible, in flight or delayed."""
        self.drive(self._empty, timeout)

    def _empty(self) -> bool:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        found = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=names)
        return not any(int(value) for value in found["Attributes"].values())

    def _event(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message["Attributes"]
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                name: attributes[name]
                for name in (
                    "ApproximateReceiveCount",
                    "SentTimestamp",
                    "SenderId",
                    "ApproximateFirstReceiveTimestamp",
                )
                if name in attributes
            },
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }
        return {"Records": [record]}
