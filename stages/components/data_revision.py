"""The Data stack's revision, for the Service stack: a fingerprint of Data's synthesized template.

Service reads Data's outputs with weak references (`Fn::GetStackOutput`), which CloudFormation
resolves only when Service itself is created or updated: if a release changes Data (a replaced
table has a new name), Service would keep pointing at the old value. Putting Data's fingerprint
in Service's template makes every change of Data change Service too, so the same release
updates Service and CloudFormation resolves its references again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import IResolveContext, IStringProducer, Lazy, Stack, Stage


@jsii.implements(IStringProducer)
class _Fingerprint:
    def __init__(self, data: Stack) -> None:
        self._data = data

    def produce(self, context: IResolveContext) -> Any:
        if context.preparing:  # references are resolved before any template is written
            return "preparing"
        stage = Stage.of(self._data)
        assert stage is not None
        template = Path(stage.outdir) / self._data.template_file
        if not template.exists():
            # CDK writes a Stage's stacks in the order they were added: Data before Service.
            raise RuntimeError(
                f"{self._data.stack_name}'s template is not written yet: the Service stack's "
                "data revision needs the Data stack synthesized first"
            )
        return "sha256:" + hashlib.sha256(template.read_bytes()).hexdigest()


def data_revision(data: Stack) -> str:
    """A token that resolves to the sha256 of `data`'s template file."""
    return Lazy.uncached_string(_Fingerprint(data))
