"""Local mode's servers (PostgreSQL with TLS, moto, the stand-in) and the helpers the
local-only tests use. Needs no AWS account; imports only the standard library and boto3."""
