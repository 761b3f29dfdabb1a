"""moto's server (`python -m integration_tests.local.moto_main`, moto_server's arguments), with
one repair of its state dump, /moto-api/data.json, which the stand-in reads to find the
temporary credentials moto's STS issued (moto.py's issued_credentials).

moto 5.2.x builds that dump from every tracked model instance, skipping an attribute that
raises TypeError, AttributeError or ValueError. An S3 object whose bucket was deleted stays
tracked until it is garbage-collected, and its `status` raises MissingBucket meanwhile: the
whole dump then answers 500, and every request signed with a session's credentials fails at
the stand-in. Here any attribute that raises is skipped, as those are. Nothing else changes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from moto.core.model_instances import model_data as tracked
from moto.moto_api._internal import responses


def model_data(self: Any, request: Any, full_url: str, headers: Any) -> Any:
    results: dict[str, dict[str, list[Any]]] = {}
    for service in sorted(tracked):
        models: dict[str, Any] = tracked[service]
        results[service] = {}
        for name in sorted(models):
            results[service][name] = []
            for instance in models[name].instances_tracked:
                found = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:  # moto's own list, widened: see the docstring
                        continue
                    found[attr] = value
                results[service][name].append(found)
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


# Before moto's URL map binds the method (moto/moto_api/_internal/urls.py).
responses.MotoAPIResponse.model_data = model_data  # type: ignore[method-assign]

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
