"""The stand-in's control API (JSON over HTTP under /_standin/), and a typed client for it.

    POST /_standin/reset                       forget faults, job scripts and request records
    POST /_standin/credentials                 {} -> a new base key; or register a given one
                                                ({"access_key_id", "secret_access_key",
                                                "account_view"?}: true lists every
                                                principal's recovery points and restore jobs)
    POST /_standin/backup/vaults               {"name", "min_retention_days"?,
                                                "max_retention_days"?, "encryption_key_arn"?}
    POST /_standin/backup/next-job             {"outcome", "polls"?, "message"?, "pending"?,
                                                "principal"?}
    POST /_standin/backup/plan-jobs            {"resource_arn", "vault_name", "iam_role_arn",
                                                "plan_id", "state"?, "listings"?, "principal"}
                                                -> {"job_id"}: a plan's job, already active
    POST /_standin/backup/restore-tests        {"recovery_point_arn", "plan_arn", "iam_role_arn",
                                                "principal", "outcome"?, "message"?,
                                                "metadata"?} -> {"restore_job_id"}: a restore
                                                testing plan's run of one recovery point
    POST /_standin/rds/next-cluster            {"available_after"?, "instance_available_after"?,
                                                "instance_deleted_after"?}: the next restored
                                                cluster's script (null: never)
    GET  /_standin/rds/instances               the validation instances that exist
    POST /_standin/rds/instances               {} : all of them gone (a test's clean-up)
    POST /_standin/faults                      {"operation", "code", "message", "status"?,
                                                "count"?, "principal"?, "crash"?, "body"?,
                                                "content_type"?, "drip_seconds"?}
    GET  /_standin/requests[?principal=AKID]   the request records, oldest first
    POST /_standin/lambda/functions            register a function (FunctionConfig's fields)
    GET  /_standin/lambda/functions/NAME       its timings (cold imports, invocations)
    POST /_standin/lambda/functions/NAME/stop  end its worker: the next Invoke is a cold start

`principal` scopes a script or fault to one caller: a base access key, or the ARN of a role
whose temporary credentials (moto's STS issued them) sign the calls; scenarios running at the
same time do not take each other's.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError

from integration_tests.standin.backup import JobScript, PlanRun
from integration_tests.standin.lambda_service import FunctionConfig, stats_json
from integration_tests.standin.protocol import AwsError, Request, Response, json_response
from integration_tests.standin.rds import ClusterScript

if TYPE_CHECKING:
    from integration_tests.standin.server import Standin

_log = logging.getLogger(__name__)
CONTROL_PREFIX = "/_standin/"
_FUNCTIONS = CONTROL_PREFIX + "lambda/functions"


@dataclass
class Fault:
    """The next `count` calls of `operation` (by `principal`, or anyone) fail with this error,
    or, with `crash`, raise an unexpected exception inside the stand-in, as a bug of its own
    would (which it must answer, not drop). With `body`, they are answered with that raw body
    instead (HTTP `status`, `content_type`): an answer that is not what the API describes.
    With `drip_seconds`, the call is served as usual (or with `body`), but its body is sent a
    byte at a time, that many seconds apart."""

    operation: str
    code: str
    message: str
    status: int = 400
    count: int = 1
    principal: str | None = None
    crash: bool = False
    body: str | None = None
    content_type: str = "application/json"
    drip_seconds: float = 0.0


def handle_control(standin: Standin, request: Request) -> Response:
    try:
        return json_response(_route(standin, request))
    except (KeyError, ValueError, TypeError, AwsError) as error:
        return json_response({"error": f"{type(error).__name__}: {error}"}, 400)
    except Exception as error:  # a stand-in bug: answered, so the caller sees it
        _log.exception("stand-in control: %s %s failed", request.method, request.path)
        return json_response({"error": f"stand-in bug: {type(error).__name__}: {error}"}, 500)


def _route(standin: Standin, request: Request) -> Any:  # noqa: PLR0911, PLR0912 (one branch per route)
    path, body = request.path, request.json() if request.method == "POST" else {}
    if path == CONTROL_PREFIX + "reset":
        standin.reset()
        return {}
    if path == CONTROL_PREFIX + "credentials":
        if "access_key_id" in body:
            created = standin.credentials.register(
                body["access_key_id"],
                body["secret_access_key"],
                account_view=bool(body.get("account_view", False)),
            )
        else:
            created = standin.credentials.create()
        return {
            "access_key_id": created.access_key_id,
            "secret_access_key": created.secret_access_key,
        }
    if path == CONTROL_PREFIX + "backup/vaults":
        vault = standin.backup.add_vault(
            body["name"],
            body.get("min_retention_days"),
            body.get("max_retention_days"),
            body.get("encryption_key_arn"),
        )
        return {"arn": vault.arn}
    if path == CONTROL_PREFIX + "backup/next-job":
        script = JobScript(
            body["outcome"],
            int(body.get("polls", 3)),
            body.get("message", ""),
            bool(body.get("pending", False)),
        )
        standin.backup.script_next_job(script, body.get("principal"))
        return {}
    if path == CONTROL_PREFIX + "backup/plan-jobs":
        job_id = standin.backup.add_plan_job(
            resource_arn=body["resource_arn"],
            vault_name=body["vault_name"],
            iam_role_arn=body["iam_role_arn"],
            plan=PlanRun(
                body["plan_id"], body.get("state", "RUNNING"), int(body.get("listings", 1))
            ),
            principal=body["principal"],
        )
        return {"job_id": job_id}
    if path == CONTROL_PREFIX + "backup/restore-tests":
        job_id = standin.restores.start_test(
            recovery_point_arn=body["recovery_point_arn"],
            plan_arn=body["plan_arn"],
            iam_role_arn=body["iam_role_arn"],
            principal=body["principal"],
            outcome=body.get("outcome", "COMPLETED"),
            message=body.get("message", ""),
            metadata=body.get("metadata"),
        )
        return {"restore_job_id": job_id}
    if path == CONTROL_PREFIX + "rds/next-cluster":
        standin.rds.script_next_cluster(ClusterScript(**body))
        return {}
    if path == CONTROL_PREFIX + "rds/instances":
        if request.method == "POST":
            standin.rds.release()
            return {}
        return standin.rds.instances()
    if path == CONTROL_PREFIX + "faults":
        standin.add_fault(Fault(**body))
        return {}
    if path == CONTROL_PREFIX + "requests":
        return standin.records(request.query.get("principal"))
    if path == _FUNCTIONS and request.method == "POST":
        body["asset_dir"], body["log_file"] = Path(body["asset_dir"]), Path(body["log_file"])
        standin.lambda_.register(FunctionConfig(**body))
        return {}
    if path.startswith(_FUNCTIONS + "/"):
        name, _, action = path[len(_FUNCTIONS) + 1 :].partition("/")
        if action == "stop":
            standin.lambda_.stop_worker(name)
            return {}
        return stats_json(standin.lambda_.stats(name))
    raise KeyError(f"no control route {request.method} {path}")


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class FunctionTimings:
    cold_import_seconds: list[float]
    invocation_seconds: list[float]
    worker_pid: int | None


class StandinClient:
    """The control API, for tests and benchmarks (in this process or any other)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + CONTROL_PREFIX + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except HTTPError as error:
            raise RuntimeError(f"stand-in control {path}: {error.read().decode()}") from error

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def new_keys(self) -> Keys:
        return Keys(**self._call("POST", "credentials", {}))

    def register_keys(self, keys: Keys, *, account_view: bool = False) -> None:
        """A key the stand-in accepts; with `account_view`, it lists every principal's
        recovery points and restore jobs (the stage's operator)."""
        body = {
            "access_key_id": keys.access_key_id,
            "secret_access_key": keys.secret_access_key,
            "account_view": account_view,
        }
        self._call("POST", "credentials", body)

    def add_vault(
        self,
        name: str,
        min_retention_days: int | None = None,
        max_retention_days: int | None = None,
        encryption_key_arn: str | None = None,
    ) -> str:
        body = {
            "name": name,
            "min_retention_days": min_retention_days,
            "max_retention_days": max_retention_days,
            "encryption_key_arn": encryption_key_arn,
        }
        return str(self._call("POST", "backup/vaults", body)["arn"])

    def script_next_job(
        self,
        outcome: str,
        polls: int = 3,
        message: str = "",
        principal: str | None = None,
        *,
        pending: bool = False,
    ) -> None:
        body = {
            "outcome": outcome,
            "polls": polls,
            "message": message,
            "pending": pending,
            "principal": principal,
        }
        self._call("POST", "backup/next-job", body)

    def inject_fault(
        self,
        operation: str,
        code: str,
        message: str,
        *,
        status: int = 400,
        count: int = 1,
        principal: str | None = None,
    ) -> None:
        body = {
            "operation": operation,
            "code": code,
            "message": message,
            "status": status,
            "count": count,
            "principal": principal,
        }
        self._call("POST", "faults", body)

    def inject_answer(
        self,
        operation: str,
        body: str,
        *,
        status: int = 200,
        content_type: str = "application/json",
        count: int = 1,
        principal: str | None = None,
    ) -> None:
        """The next `count` calls of `operation` are answered with this raw body."""
        fault = {
            "operation": operation,
            "code": "",
            "message": f"answered with {body[:40]!r}",
            "status": status,
            "count": count,
            "principal": principal,
            "body": body,
            "content_type": content_type,
        }
        self._call("POST", "faults", fault)

    def inject_drip(
        self,
        operation: str,
        seconds_per_byte: float,
        *,
        count: int = 1,
        principal: str | None = None,
    ) -> None:
        """The next `count` calls of `operation` are served, but their answer's body is sent a
        byte at a time, `seconds_per_byte` apart."""
        fault = {
            "operation": operation,
            "code": "",
            "message": f"dripped, {seconds_per_byte} s a byte",
            "count": count,
            "principal": principal,
            "drip_seconds": seconds_per_byte,
        }
        self._call("POST", "faults", fault)

    def add_plan_job(
        self,
        resource_arn: str,
        vault_name: str,
        iam_role_arn: str,
        *,
        principal: str,
        plan_id: str = "standin-snapshot-plan",
        state: str = "RUNNING",
        listings: int = 1,
    ) -> str:
        """A plan's job of the resource, active until ListBackupJobs has shown it `listings`
        times; its id."""
        body = {
            "resource_arn": resource_arn,
            "vault_name": vault_name,
            "iam_role_arn": iam_role_arn,
            "plan_id": plan_id,
            "state": state,
            "listings": listings,
            "principal": principal,
        }
        return str(self._call("POST", "backup/plan-jobs", body)["job_id"])

    def start_restore_test(
        self,
        recovery_point_arn: str,
        plan_arn: str,
        iam_role_arn: str,
        *,
        principal: str,
        outcome: str = "COMPLETED",
        message: str = "",
        metadata: dict[str, str] | None = None,
    ) -> str:
        """A restore testing plan's run of the recovery point, as AWS Backup would start it;
        the restore job's id."""
        body = {
            "recovery_point_arn": recovery_point_arn,
            "plan_arn": plan_arn,
            "iam_role_arn": iam_role_arn,
            "principal": principal,
            "outcome": outcome,
            "message": message,
            "metadata": metadata,
        }
        return str(self._call("POST", "backup/restore-tests", body)["restore_job_id"])

    def script_next_cluster(
        self,
        *,
        available_after: int = 0,
        instance_available_after: int | None = 2,
        instance_deleted_after: int | None = 1,
    ) -> None:
        """The next restored cluster's statuses, counted in describes (None: never)."""
        body = {
            "available_after": available_after,
            "instance_available_after": instance_available_after,
            "instance_deleted_after": instance_deleted_after,
        }
        self._call("POST", "rds/next-cluster", body)

    def rds_instances(self) -> list[str]:
        return [str(name) for name in self._call("GET", "rds/instances")]

    def release_rds_instances(self) -> None:
        self._call("POST", "rds/instances", {})

    def inject_crash(self, operation: str, *, count: int = 1, principal: str | None = None) -> None:
        """The next `count` calls of `operation` raise inside the stand-in, as its bug would."""
        body = {
            "operation": operation,
            "code": "",
            "message": f"{count} call(s) of {operation}",
            "count": count,
            "principal": principal,
            "crash": True,
        }
        self._call("POST", "faults", body)

    def requests(
        self, principal: str | None = None, operation: str | None = None
    ) -> list[dict[str, Any]]:
        """The request records, oldest first: of one caller's key, and of one operation."""
        query = f"?principal={principal}" if principal else ""
        found = list(self._call("GET", "requests" + query))
        return [r for r in found if operation in (None, r["operation"])]

    def register_function(self, config: FunctionConfig) -> None:
        body = {
            "name": config.name,
            "asset_dir": str(config.asset_dir),
            "handler": config.handler,
            "environment": config.environment,
            "log_file": str(config.log_file),
            "timeout_seconds": config.timeout_seconds,
            "memory_mb": config.memory_mb,
        }
        self._call("POST", "lambda/functions", body)

    def function_timings(self, name: str) -> FunctionTimings:
        return FunctionTimings(**self._call("GET", f"lambda/functions/{name}"))

    def stop_worker(self, name: str) -> None:
        self._call("POST", f"lambda/functions/{name}/stop", {})
