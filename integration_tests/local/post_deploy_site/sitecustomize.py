"""Hides the modules named in DR_HIDDEN_MODULES (see ../post_deploy_packages.py)."""

import os
import sys
from importlib.abc import MetaPathFinder

_HIDDEN = frozenset(filter(None, os.environ.get("DR_HIDDEN_MODULES", "").split(",")))


class _Hidden(MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname.partition(".")[0] in _HIDDEN:
            raise ModuleNotFoundError(
                f"No module named {fullname!r} (not installed in the post-deploy step)",
                name=fullname,
            )


if _HIDDEN:
    sys.meta_path.insert(0, _Hidden())
