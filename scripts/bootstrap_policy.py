"""`make bootstrap-policy`: write the CloudFormation execution policy of each stage account,
from cdk.json's configuration, into build/bootstrap/ (README: "Bootstrap the accounts")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import ConfigError, load_config, partition  # noqa: E402
from pipeline.bootstrap_policy import execution_policy, stage_accounts  # noqa: E402

OUT = ROOT / "build" / "bootstrap"
POLICY_NAME = "dr-stage-cfn-exec"


def main() -> None:
    try:
        config = load_config(json.loads((ROOT / "cdk.json").read_text())["context"])
    except ConfigError as error:
        sys.exit(f"Invalid configuration: {error}")
    OUT.mkdir(parents=True, exist_ok=True)
    for account in stage_accounts(config):
        path = OUT / f"execution-policy-{account}.json"
        path.write_text(json.dumps(execution_policy(config, account), indent=2) + "\n")
        stages = ", ".join(s.name for s in config.stages if s.account == account)
        print(f"{path.relative_to(ROOT)}  (account {account}: {stages})")
        print(
            f"  new:     aws iam create-policy --policy-name {POLICY_NAME} "
            f"--policy-document file://{path.relative_to(ROOT)}"
        )
        policy_arn = f"arn:{partition(config.pipeline.region)}:iam::{account}:policy/{POLICY_NAME}"
        print(
            f"  changed: aws iam create-policy-version --policy-arn {policy_arn} "
            f"--policy-document file://{path.relative_to(ROOT)} --set-as-default"
        )


if __name__ == "__main__":
    main()
