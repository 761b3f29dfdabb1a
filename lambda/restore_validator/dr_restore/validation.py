"""The validator's decisions: what each restore job event and each step message leads to.

- A COMPLETED job of this stage's plan: a DynamoDB table or S3 bucket is read at once and
  judged in the same invocation. An Aurora cluster goes through three phases, each a step
  message that the next invocation takes up after STEP_DELAY_SECONDS:
  `cluster` (wait for the restored cluster to be available, then create the validation
  instance), `instance` (wait for it to be available, then read the canary through it) and
  `deletion` (delete it and wait until it is gone). The cluster and instance waits share one
  bound, INSTANCE_WAIT_SECONDS from the job's first look; the deletion has its own,
  INSTANCE_DELETE_WAIT_SECONDS. The verdict is reported only once the instance is gone, or
  as FAILED naming it when its deletion cannot be confirmed within the bound: AWS Backup
  cannot delete a restored cluster that still has an instance.
- A FAILED or ABORTED job: nothing was restored, so nothing is validated (and no result is
  reported); its store's RestoreValidated metric is 0 and one log line says why.
- Any unexpected error while validating becomes the verdict's reason (FAILED), after the
  instance is deleted. What is raised is only what must be retried with the same message:
  a failure to send the next step, or to report the verdict (nothing was lost: the message
  stays on the queue).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dr_common import aurora, postgres, stores
from dr_common.errors import one_line
from dr_common.objectives import FAILED, Measurement, Reading, Verdict, judge
from dr_common.restore_job import FAILED_STATUSES, RestoreJob
from dr_restore import clients, metrics, reading
from dr_restore.log import logger
from dr_restore.messages import JobEvent, Step
from dr_restore.report import describe, report_once
from dr_restore.settings import Settings

END_STATES = ("COMPLETED", *FAILED_STATUSES)


class StepNotSentError(Exception):
    """The next step could not be sent: the message in hand must be delivered again."""


@dataclass(frozen=True)
class Final:
    """A phase's end of the validation: what was read (if anything) and what went wrong."""

    reading: Reading | None
    problem: str | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    """What the validator acts through: the SDK clients (on first use), the database
    connection and the clock. Tests give their own."""

    def __init__(
        self,
        client: Callable[[str], Any] = clients.client,
        connect: reading.Connect = postgres.connect,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.client, self.connect, self.now = client, connect, now


class Validator:
    def __init__(self, settings: Settings, services: Services) -> None:
        self.settings, self.services = settings, services

    # Restore job events -------------------------------------------------------------------

    def on_event(self, event: JobEvent) -> None:
        if event.plan_arn != self.settings.plan_arn:
            logger.info("Not this stage's restore testing plan", extra={"event": vars(event)})
            return
        if event.status not in END_STATES:
            logger.info("Restore job not finished yet", extra={"event": vars(event)})
            return
        job = describe(self.services.client("backup"), event.job_id)
        if job.plan_arn != self.settings.plan_arn:
            logger.warning("Restore job not of this plan", extra={"restoreJobId": job.job_id})
            return
        if job.status in FAILED_STATUSES:
            self._job_failed(job)
        elif job.status != "COMPLETED":
            logger.warning(
                "Restore job event and job disagree",
                extra={"event": vars(event), "status": job.status},
            )
        elif job.validated:
            logger.info(
                "Restore job already validated",
                extra={"restoreJobId": job.job_id, "validationStatus": job.validation_status},
            )
        else:
            self._validate(job)

    def _job_failed(self, job: RestoreJob) -> None:
        store = job.store or job.resource_type or "unknown"
        logger.warning(
            "DR restore job failed",
            extra={
                "restoreJob": _facts(job),
                "store": store,
                "status": job.status,
                "statusMessage": job.status_message,
            },
        )
        metrics.publish(store, job.job_id, metrics.values(False, None, job.duration_seconds))

    def _validate(self, job: RestoreJob) -> None:
        store = job.store
        if store is None:
            problem = f"unsupported resource type {job.resource_type!r}"
            self._finish(job, job.resource_type or "unknown", None, problem)
        elif store == "aurora":
            self._begin_aurora(job)
        else:
            self._validate_at_once(job, store)

    def _validate_at_once(self, job: RestoreJob, store: str) -> None:
        found: Reading | None = None
        problem = None
        try:
            name = job.restored_name()
            if store == "dynamodb":
                found = reading.read_table(
                    self.services.client("dynamodb"), name, self.services.now
                )
            else:
                s3 = self.services.client("s3")
                found = reading.read_bucket(s3, name, self.settings, self.services.now)
        except Exception as error:
            what = "table" if store == "dynamodb" else "bucket"
            problem = f"the restored {what} could not be read: {one_line(error)}"
        self._finish(job, store, found, problem)

    # Aurora, step by step -----------------------------------------------------------------

    def _begin_aurora(self, job: RestoreJob) -> None:
        try:
            cluster_id = job.restored_name()
            instance_id = self.settings.instance_id(job.job_id)
        except Exception as error:
            self._finish(job, "aurora", None, one_line(error))
            return
        first = Step(
            job=job,
            phase="cluster",
            cluster_id=cluster_id,
            instance_id=instance_id,
            deadline=self.services.now() + self.settings.instance_wait,
        )
        self.on_step(first)

    def on_step(self, step: Step) -> None:
        if step.phase != "deletion":
            current = describe(self.services.client("backup"), step.job.job_id)
            if current.validated:  # a repeated delivery of an earlier step: its chain reported
                logger.info(
                    "Restore job already validated",
                    extra={"restoreJobId": current.job_id, "phase": step.phase},
                )
                return
        rds = self.services.client("rds")
        try:
            following = self._take(step, rds)
        except Exception as error:
            following = self._after_error(step, one_line(error))
        if isinstance(following, Step):
            # The facts travel in the step, sent before anything is deleted: should the send
            # fail, this message is delivered again and its phase runs again.
            self._send(following)
            if following.phase == "deletion" and step.phase != "deletion":
                self._delete_now(rds, following)
        elif isinstance(following, Final):
            instance = step.instance_id if step.phase == "deletion" else None
            self._finish(step.job, "aurora", following.reading, following.problem, instance)

    def _take(self, step: Step, rds: Any) -> Step | Final:
        if step.phase == "cluster":
            return self._await_cluster(step, rds)
        if step.phase == "instance":
            return self._await_instance(step, rds)
        return self._await_deletion(step, rds)

    def _await_cluster(self, step: Step, rds: Any) -> Step | Final:
        cluster = aurora.describe_cluster(rds, step.cluster_id)
        if cluster is None:
            return self._to_deletion(step, problem=f"restored cluster {step.cluster_id} not found")
        if cluster.status != "available":
            if self.services.now() >= step.deadline:
                return self._to_deletion(
                    step,
                    problem=f"restored cluster {step.cluster_id} not available within "
                    f"{self._wait_seconds()} s (status {cluster.status})",
                )
            return step.next(last_status=cluster.status)
        instance = aurora.describe_instance(rds, step.instance_id)
        if instance is None:
            aurora.create_instance(
                rds, cluster, step.instance_id, self.settings.instance_class, step.job.job_id
            )
            logger.info(
                "Validation instance created",
                extra={"instance": step.instance_id, "cluster": step.cluster_id},
            )
        elif instance.cluster_id != step.cluster_id:
            return self._foreign(step, instance)
        return step.next(phase="instance", last_status="creating")

    def _await_instance(self, step: Step, rds: Any) -> Step | Final:
        instance = aurora.describe_instance(rds, step.instance_id)
        if instance is None:
            return self._to_deletion(
                step, problem=f"validation instance {step.instance_id} vanished before it was read"
            )
        if instance.cluster_id != step.cluster_id:
            return self._foreign(step, instance)
        if instance.status == "available":
            return self._read(step, instance, rds)
        if instance.status in aurora.NEVER_AVAILABLE:
            return self._to_deletion(
                step, problem=f"validation instance {step.instance_id} is {instance.status}"
            )
        if self.services.now() >= step.deadline:
            return self._to_deletion(
                step,
                problem=f"validation instance {step.instance_id} not available within "
                f"{self._wait_seconds()} s (status {instance.status})",
            )
        return step.next(last_status=instance.status)

    def _read(self, step: Step, instance: aurora.Instance, rds: Any) -> Step:
        """The canary, through the available instance; whatever happens, deletion next."""
        found: Reading | None = None
        problem = None
        try:
            if not instance.host:
                raise ValueError(f"validation instance {step.instance_id} has no endpoint")
            port = instance.port or self.settings.db_port
            reader = self.settings.db_reader_function
            if reader:
                found = stores.read_postgres_through(
                    self.services.client("lambda"), reader, instance.host, port
                )
            else:
                found = reading.read_database(
                    rds,
                    instance.host,
                    port,
                    self.settings,
                    connect=self.services.connect,
                    now=self.services.now,
                )
        except Exception as error:
            problem = f"the restored database could not be read: {one_line(error)}"
        return self._to_deletion(step, reading=found, problem=problem)

    def _delete_now(self, rds: Any, step: Step) -> None:
        """Asks for the deletion at once, so it gets the whole bound; the deletion phase asks
        again if this fails."""
        try:
            instance = aurora.describe_instance(rds, step.instance_id)
            if (
                instance
                and instance.cluster_id == step.cluster_id
                and instance.status != "deleting"
            ):
                aurora.delete_instance(rds, step.instance_id)
        except Exception as error:
            logger.warning(
                "Deleting the validation instance failed; asking again",
                extra={"instance": step.instance_id, "error": one_line(error)},
            )

    def _await_deletion(self, step: Step, rds: Any) -> Step | Final:
        instance = aurora.describe_instance(rds, step.instance_id)
        if instance is None:
            return Final(step.reading, step.problem)
        if instance.cluster_id != step.cluster_id:
            return self._foreign(step, instance)
        if instance.status != "deleting":
            aurora.delete_instance(rds, step.instance_id)
        if self.services.now() >= step.deadline:
            return Final(None, self._undeleted(step, f"status {instance.status}"))
        return step.next(last_status=instance.status)

    def _after_error(self, step: Step, error: str) -> Step | Final:
        """An unexpected error in a phase: before the read, the instance is deleted and the
        error is the reason; while deleting, the deletion is asked again until its bound."""
        if step.phase != "deletion":
            return self._to_deletion(step, problem=f"unexpected error ({step.phase}): {error}")
        if self.services.now() >= step.deadline:
            return Final(None, self._undeleted(step, f"last error {error}"))
        logger.warning(
            "Deletion step failed; trying again",
            extra={"instance": step.instance_id, "error": error},
        )
        return step.next(last_status=f"error: {error}")

    def _to_deletion(
        self, step: Step, *, reading: Reading | None = None, problem: str | None = None
    ) -> Step:
        return step.next(
            phase="deletion",
            deadline=self.services.now() + self.settings.instance_delete_wait,
            last_status="",
            reading=reading,
            problem=problem,
        )

    @staticmethod
    def _foreign(step: Step, instance: aurora.Instance) -> Final:
        return Final(None, _foreign_problem(step, instance))

    def _undeleted(self, step: Step, status: str) -> str:
        seconds = self.settings.instance_delete_wait.total_seconds()
        undeleted = (
            f"validation instance {step.instance_id} still exists {seconds:.0f} s after its "
            f"deletion was asked ({status}); AWS Backup cannot delete the restored cluster "
            "while it has an instance"
        )
        return f"{step.problem}; {undeleted}" if step.problem else undeleted

    def _wait_seconds(self) -> str:
        return f"{self.settings.instance_wait.total_seconds():.0f}"

    def _send(self, step: Step) -> None:
        try:
            self.services.client("sqs").send_message(
                QueueUrl=self.settings.step_queue_url,
                MessageBody=step.to_body(),
                DelaySeconds=self.settings.step_delay_seconds,
            )
        except Exception as error:
            raise StepNotSentError(
                f"the {step.phase} step was not sent: {one_line(error)}"
            ) from error
        logger.info(
            "Next validation step sent",
            extra={"restoreJobId": step.job.job_id, "phase": step.phase, "steps": step.steps},
        )

    # The verdict --------------------------------------------------------------------------

    def _finish(
        self,
        job: RestoreJob,
        store: str,
        found: Reading | None,
        problem: str | None,
        instance_id: str | None = None,
    ) -> None:
        measurement = Measurement(store, job.created, job.completed, found)
        targets = self.settings.targets.get(store)
        if targets is None:
            verdict = Verdict(FAILED, f"{store}: {problem or 'no targets for this store'}")
        else:
            verdict = judge(measurement, targets, problem)
        if not report_once(self.services.client("backup"), job.job_id, verdict):
            logger.info("Restore job already validated", extra={"restoreJobId": job.job_id})
            return
        log = logger.info if verdict.successful else logger.warning
        log(
            "DR restore validation",
            extra={
                "verdict": {
                    "status": verdict.status,
                    "reason": verdict.reason,
                    "store": store,
                    "rpoSeconds": _seconds(measurement.rpo),
                    "rtoSeconds": _seconds(measurement.rto),
                    "restoreJobSeconds": job.duration_seconds,
                    "canaryWrittenAt": _iso(found.written_at if found else None),
                    "canaryReadAt": _iso(found.read_at if found else None),
                    "validationInstance": instance_id,
                    **_facts(job),
                }
            },
        )
        metrics.publish(
            store, job.job_id, metrics.values(verdict.successful, measurement, job.duration_seconds)
        )


def _foreign_problem(step: Step, instance: aurora.Instance) -> str:
    return (
        f"instance {step.instance_id} belongs to cluster {instance.cluster_id}, not to the "
        f"restored cluster {step.cluster_id}: left alone"
    )


def _facts(job: RestoreJob) -> dict[str, Any]:
    return {
        "restoreJobId": job.job_id,
        "resourceType": job.resource_type,
        "createdResourceArn": job.created_resource_arn,
        "recoveryPointArn": job.recovery_point_arn,
        "recoveryPointCreated": _iso(job.recovery_point_created),
        "jobCreated": _iso(job.created),
        "jobCompleted": _iso(job.completed),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _seconds(span: Any) -> float | None:
    return None if span is None else float(span.total_seconds())
