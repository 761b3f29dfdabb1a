"""Sessions and clients: every call bounded (connect and read timeouts, standard retries), the
Region explicit, and credentials checked before the first call so that a missing one is one
line, not a traceback. AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (botocore's own
settings) point it elsewhere, e.g. at a local stage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dr_cli.errors import CliError

# Lambda's Invoke waits for the health check (30 s) or the restore reader (30 s) and a cold
# start in the VPC; every other call answers in seconds.
_READ_TIMEOUT = {"lambda": 75}


@dataclass
class Aws:
    region: str | None
    profile: str | None = None
    _session: Any = None
    _clients: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_session(cls, session: Any) -> Aws:
        """A session made elsewhere, e.g. the post-deploy suite's (the assumed role's)."""
        return cls(region=session.region_name, _session=session)

    def session(self) -> Any:
        if self._session is None:
            import boto3

            session = boto3.Session(profile_name=self.profile, region_name=self.region)
            if not session.region_name:
                raise CliError(
                    "no AWS Region: pass --region or set AWS_REGION to the stage's Region"
                )
            if session.get_credentials() is None:
                raise CliError(
                    "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY) for the stage's account"
                )
            self._session = session
        return self._session

    @property
    def region_name(self) -> str:
        return str(self.session().region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            from botocore.config import Config

            config = Config(
                connect_timeout=10,
                read_timeout=_READ_TIMEOUT.get(service, 30),
                retries={"mode": "standard", "total_max_attempts": 3},
            )
            self._clients[service] = self.session().client(service, config=config)
        return self._clients[service]


# A listing is bounded too: more pages than this is not an answer the API describes.
MAX_PAGES = 100


def items(call: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paged list (NextToken), e.g. items(backup.list_restore_jobs,
    "RestoreJobs", ByRestoreTestingPlanArn=...)."""
    for _ in range(MAX_PAGES):
        page = call(**kwargs)
        yield from page.get(key) or []
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]
    raise CliError(f"{getattr(call, '__name__', 'a listing')} returned more than {MAX_PAGES} pages")
