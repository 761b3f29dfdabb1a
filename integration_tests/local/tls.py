"""A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI.

The server certificate carries `subjectAltName = IP:127.0.0.1`, so a client that verifies
(as the handler does: `ssl.create_default_context()`, trusting what SSL_CERT_FILE names)
accepts it for host 127.0.0.1. A second, unrelated CA lets a test prove that a client
trusting the wrong CA fails closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from integration_tests.local.processes import run

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]  # fast to make


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    other_ca_cert: Path  # trusted by nothing here: the "wrong CA"


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    run(
        [
            *("openssl", "req", "-x509", *_KEY, "-keyout", str(key), "-out", str(cert)),
            *("-days", "2", "-subj", f"/CN={name}"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ],
        f"openssl: CA {name}",
    )
    return cert, key


def make_tls_files(directory: Path) -> TlsFiles:
    ca_cert, ca_key = _ca(directory, "dr-local-ca")
    other_ca_cert, _ = _ca(directory, "dr-other-ca")
    key, request = directory / "server.key", directory / "server.csr"
    cert, extensions = directory / "server.crt", directory / "server.ext"
    extensions.write_text(
        "subjectAltName = IP:127.0.0.1\n"
        "basicConstraints = critical,CA:FALSE\n"
        "keyUsage = critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n"
    )
    run(
        [
            "openssl",
            "req",
            "-new",
            *_KEY,
            "-keyout",
            str(key),
            "-out",
            str(request),
            "-subj",
            "/CN=127.0.0.1",
        ],
        "openssl: server key",
    )
    run(
        [
            *("openssl", "x509", "-req", "-in", str(request), "-CA", str(ca_cert)),
            *("-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert), "-days", "2"),
            *("-extfile", str(extensions)),
        ],
        "openssl: server certificate",
    )
    return TlsFiles(ca_cert, cert, key, other_ca_cert)
