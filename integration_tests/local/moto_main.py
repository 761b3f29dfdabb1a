"""moto's server (`python -m integration_tests.local.moto_main`, moto_server's arguments), with
one repair of its state dump, /moto-api/data.json, which the stand-in reads to find the
temporary credentials moto's STS issued (moto.py's issued_credentials).

moto 5.2.x builds that dump from every tracked model instance, skipping an attribute that
raises TypeError, AttributeError or ValueError. An S3 object whose bucket was deleted stays
tracked until it is garbage-collected, and its `status` raises MissingBucket meanwhile: the
whole dump then answers 500, and every request signed with a session's credentials fails at
the stand-in. Here any attribute that raises is skipped, as those are. And the server is
threaded: moto checks that a value serializes, then serializes the whole dump later, by which
time a live list may hold a model object (TypeError, 500); here each value is copied as it is
checked, and a dump that meets a model class registered meanwhile (RuntimeError while
iterating) is taken again. Nothing else changes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from moto.core.model_instances import model_data as tracked
from moto.moto_api._internal import responses

# Attempts at a dump while other requests register new model classes (see _dump).
_ATTEMPTS = 20


def model_data(self: Any, request: Any, full_url: str, headers: Any) -> Any:
    for _ in range(_ATTEMPTS):
        try:
            results = _dump()
        except RuntimeError:  # "dictionary changed size during iteration": try again
            continue
        return 200, {"Content-Type": "application/javascript"}, json.dumps(results)
    return 503, {"Content-Type": "text/plain"}, "moto's models kept changing during the dump"


def _dump() -> dict[str, dict[str, list[Any]]]:
    # The server is threaded: a request that creates the first instance of a model class
    # adds it to `tracked` while this iterates (moto's own dump then fails the same way).
    results: dict[str, dict[str, list[Any]]] = {}
    for service, models in sorted(list(tracked.items())):
        results[service] = {}
        classes: dict[str, Any] = dict(models)
        for name in sorted(classes):
            results[service][name] = []
            for instance in list(classes[name].instances_tracked):
                found = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        encoded = json.dumps(getattr(instance, attr))
                    except Exception:  # moto's own list, widened: see the docstring
                        continue
                    # A copy: the live value may gain a model object before the dump ends.
                    found[attr] = json.loads(encoded)
                results[service][name].append(found)
    return results


# Before moto's URL map binds the method (moto/moto_api/_internal/urls.py).
responses.MotoAPIResponse.model_data = model_data  # type: ignore[method-assign]

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
