"""Lambda stand-in: Invoke (POST /2015-03-31/functions/{name}/invocations, rest-json) runs the
function's handler in a warm worker process (worker.py), one per function.

Like a Lambda execution environment, a worker imports the handler once (its cold start) and
runs invocations one at a time; a second concurrent Invoke waits for the first rather than
starting another environment. A worker is replaced after it crashes or times out, or on
request (control API), so the next Invoke is a cold start again. The function's stdout and
stderr go to its log file, with Lambda's START/END/REPORT lines around each invocation
(REPORT carries `Init Duration` on a cold start); `LogType: Tail` returns the last 4 KB.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from integration_tests.standin.auth import ACCOUNT_ID, Caller
from integration_tests.standin.protocol import AwsError, Request, Response

WORKER = Path(__file__).with_name("worker.py")
_INVOKE_PREFIX = "/2015-03-31/functions/"
_INVOKE_SUFFIX = "/invocations"
_START_TIMEOUT_S = 30.0
_TAIL_BYTES = 4096


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    asset_dir: Path
    handler: str
    environment: dict[str, str]  # exactly what the worker process gets
    log_file: Path
    timeout_seconds: float = 30.0
    memory_mb: int = 256

    def arn(self, region: str) -> str:
        return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.name}"


@dataclass
class FunctionStats:
    """What a benchmark reads: per cold start the handler's import time, per invocation the
    handler's own duration (both measured inside the worker, so without HTTP or IPC)."""

    cold_import_seconds: list[float] = field(default_factory=list)
    invocation_seconds: list[float] = field(default_factory=list)
    worker_pid: int | None = None


@dataclass(frozen=True)
class Outcome:
    payload: bytes
    function_error: str | None
    seconds: float


class _Worker:
    def __init__(self, config: FunctionConfig, log: TextIO) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-B", "-u", str(WORKER)]
                + [str(config.asset_dir), config.handler, str(write_fd)]
                + ([] if "LC_CTYPE" in config.environment else ["--drop-lc-ctype"]),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=config.environment,
                cwd=config.asset_dir,
                pass_fds=(write_fd,),
                text=True,
            )
        finally:
            os.close(write_fd)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(read_fd,), daemon=True).start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd) as responses:
            for line in responses:
                self._lines.put(line)
        self._lines.put(None)  # the worker exited

    def receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message; None when the worker died or did not answer in time."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if line is None else dict(json.loads(line))

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stdin:
            self.process.stdin.close()


class _Function:
    def __init__(self, config: FunctionConfig, region: str) -> None:
        self.config = config
        self.region = region
        self.stats = FunctionStats()
        self.lock = threading.Lock()  # one invocation at a time, as in one environment
        self._log = config.log_file.open("a", buffering=1)
        self._worker: _Worker | None = None

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def close(self) -> None:
        self.stop()
        self._log.close()

    def invoke(self, payload: bytes, request_id: str) -> tuple[Outcome, str]:
        """The outcome and the log lines this invocation wrote."""
        self._log.flush()
        start = os.fstat(self._log.fileno()).st_size  # the worker appends to the same file
        init_seconds = None
        if self._worker is None or self._worker.process.poll() is not None:
            self.stop()
            self._worker = _Worker(self.config, self._log)
            self.stats.worker_pid = self._worker.process.pid
            ready = self._worker.receive(_START_TIMEOUT_S)
            if ready is None or not ready.get("ready"):
                self.stop()
                error = ready or {"errorType": "Runtime.ExitError", "errorMessage": "no answer"}
                error.pop("ready", None)
                return Outcome(json.dumps(error).encode(), "Unhandled", 0.0), self._tail(start)
            init_seconds = float(ready["import_seconds"])
            self.stats.cold_import_seconds.append(init_seconds)
        self._log.write(f"START RequestId: {request_id} Version: $LATEST\n")
        outcome = self._run(payload, request_id)
        init = f"\tInit Duration: {init_seconds * 1000:.2f} ms" if init_seconds is not None else ""
        self._log.write(
            f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\t"
            f"Duration: {outcome.seconds * 1000:.2f} ms\t"
            f"Memory Size: {self.config.memory_mb} MB{init}\n"
        )
        return outcome, self._tail(start)

    def _run(self, payload: bytes, request_id: str) -> Outcome:
        assert self._worker is not None
        timeout = self.config.timeout_seconds
        try:
            self._worker.send(
                {
                    "request_id": request_id,
                    "payload": payload.decode() or "{}",
                    "deadline_ms": (time.time() + timeout) * 1000,
                    "function_name": self.config.name,
                    "function_arn": self.config.arn(self.region),
                    "memory_mb": self.config.memory_mb,
                }
            )
            answer = self._worker.receive(timeout)
        except OSError:  # the worker died between invocations
            answer = None
        if answer is None:
            timed_out = self._worker.process.poll() is None
            self.stop()  # the environment is discarded, as Lambda does after a timeout
            error = (
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                    f"{timeout:.2f} seconds",
                }
                if timed_out
                else {"errorType": "Runtime.ExitError", "errorMessage": "the runtime exited"}
            )
            return Outcome(json.dumps(error).encode(), "Unhandled", timeout)
        seconds = float(answer["seconds"])
        self.stats.invocation_seconds.append(seconds)
        if "error" in answer:
            return Outcome(json.dumps(answer["error"]).encode(), "Unhandled", seconds)
        return Outcome(str(answer["payload"]).encode(), None, seconds)

    def _tail(self, start: int) -> str:
        self._log.flush()
        with self.config.log_file.open("rb") as log:
            log.seek(start)
            return log.read().decode(errors="replace")


class LambdaService:
    def __init__(self, region: str) -> None:
        self._region = region
        self._lock = threading.Lock()
        self._functions: dict[str, _Function] = {}

    def register(self, config: FunctionConfig) -> None:
        with self._lock:
            old = self._functions.pop(config.name, None)
            self._functions[config.name] = _Function(config, self._region)
        if old is not None:
            with old.lock:
                old.close()

    def stop_worker(self, name: str) -> None:
        function = self._function(name)
        with function.lock:
            function.stop()

    def stats(self, name: str) -> FunctionStats:
        return self._function(name).stats

    def close(self) -> None:
        with self._lock:
            functions = list(self._functions.values())
            self._functions.clear()
        for function in functions:
            with function.lock:
                function.close()

    @staticmethod
    def operation(request: Request) -> str | None:
        path = request.path
        if (
            request.method == "POST"
            and path.startswith(_INVOKE_PREFIX)
            and path.endswith(_INVOKE_SUFFIX)
        ):
            return "Invoke"
        return None

    def function_name(self, request: Request) -> str:
        name = request.path[len(_INVOKE_PREFIX) : -len(_INVOKE_SUFFIX)]
        if name.startswith("arn:"):  # a full or partial ARN names the function too
            name = name.split(":function:", 1)[-1]
        return name.split(":", 1)[0]

    def _function(self, name: str) -> _Function:
        with self._lock:
            function = self._functions.get(name)
        if function is None:
            raise AwsError(
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:{self._region}:{ACCOUNT_ID}:function:{name}",
                404,
            )
        return function

    def handle(self, operation: str, request: Request, caller: Caller) -> Response:
        function = self._function(self.function_name(request))
        if request.query.get("Qualifier", "$LATEST") != "$LATEST":
            raise AwsError("ResourceNotFoundException", "Function not found (qualifier)", 404)
        try:
            json.loads(request.body or b"{}")
        except ValueError as error:
            raise AwsError(
                "InvalidRequestContentException",
                f"Could not parse request body into json: {error}",
            ) from error
        invocation_type = request.header("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            return Response(204)
        if invocation_type != "RequestResponse":
            raise AwsError(
                "InvalidParameterValueException",
                f"The stand-in runs RequestResponse and DryRun only, not {invocation_type}",
            )
        request_id = str(uuid.uuid4())
        with function.lock:
            outcome, log = function.invoke(request.body, request_id)
        headers = {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": request_id}
        if outcome.function_error:
            headers["X-Amz-Function-Error"] = outcome.function_error
        if request.header("X-Amz-Log-Type") == "Tail":
            tail = log.encode()[-_TAIL_BYTES:]
            headers["X-Amz-Log-Result"] = base64.b64encode(tail).decode()
        return Response(
            200,
            outcome.payload,
            {"Content-Type": "application/json", **headers},
            record={"FunctionName": function.config.name, "FunctionError": outcome.function_error},
        )


def stats_json(stats: FunctionStats) -> dict[str, Any]:
    return {
        "cold_import_seconds": stats.cold_import_seconds,
        "invocation_seconds": stats.invocation_seconds,
        "worker_pid": stats.worker_pid,
    }
