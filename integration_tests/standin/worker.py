"""One Lambda execution environment: imports the handler once, then runs invocations in turn.

Run by lambda_service.py as `python -I -B -u worker.py ASSET_DIR HANDLER RESPONSE_FD
[--drop-lc-ctype]` with the function's environment only (the flag undoes the LC_CTYPE that
Python's C-locale coercion adds, so the handler sees exactly the variables it was given).
Like the Lambda runtime, the asset directory comes first on sys.path and the interpreter's
own packages (boto3) after it. Protocol, one JSON object per
line: first a `ready` line on RESPONSE_FD with the handler's import time; then, per request
line on stdin ({"request_id", "payload", "deadline_ms", plus the function's name, ARN and
memory}), one result line. Everything the handler prints goes to stdout/stderr: the log.

It deliberately imports nothing from this repository: only the asset and the interpreter's
site-packages are on its path.
"""

import importlib
import json
import os
import sys
import time
import traceback


def main() -> None:
    asset_dir, handler_spec, response_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if "--drop-lc-ctype" in sys.argv[4:]:
        os.environ.pop("LC_CTYPE", None)
    sys.path.insert(0, asset_dir)
    module_name, _, function_name = handler_spec.rpartition(".")
    # The runtime's own modules (json, os, ...) are loaded before this, as in Lambda, where
    # the runtime interface client imports them before the handler.
    started = time.perf_counter()
    init_error = None
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # an init error, reported like Lambda's Runtime.ImportModuleError
        init_error = error
    import_seconds = time.perf_counter() - started
    responses = os.fdopen(response_fd, "w", buffering=1)

    def reply(message: dict[str, object]) -> None:
        responses.write(json.dumps(message) + "\n")

    if init_error is not None:
        reply(
            {
                "ready": False,
                "errorType": "Runtime.ImportModuleError",
                "errorMessage": f"Unable to import module '{module_name}': {init_error}",
            }
        )
        return
    reply({"ready": True, "import_seconds": import_seconds})

    for line in sys.stdin:
        request = json.loads(line)
        context = _Context(request)
        started = time.perf_counter()
        try:
            result = handler(json.loads(request["payload"]), context)
            message: dict[str, object] = {"payload": json.dumps(result)}
        except Exception as error:  # unhandled: the caller gets FunctionError, as from Lambda
            message = {
                "error": {
                    "errorMessage": str(error),
                    "errorType": type(error).__name__,
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
            }
        message["seconds"] = time.perf_counter() - started
        sys.stdout.flush()
        sys.stderr.flush()
        reply(message)


class _Context:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, request: dict[str, object]) -> None:
        self.aws_request_id = str(request["request_id"])
        self.function_name = str(request["function_name"])
        self.function_version = "$LATEST"
        self.invoked_function_arn = str(request["function_arn"])
        self.memory_limit_in_mb = int(str(request["memory_mb"]))
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "standin"
        self._deadline_ms = float(str(request["deadline_ms"]))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


if __name__ == "__main__":
    main()
