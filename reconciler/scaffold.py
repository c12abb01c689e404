"""``reconciler init``: the files of a new project (commented project file, one example manifest, schemas, and
optionally the GitHub workflows that call this project's reusable ones). Content only; the CLI writes them."""

from __future__ import annotations

import json

from .models import json_schemas

WORKFLOWS_FROM = "OWNER/reconciler"  # where the reusable workflows live; replace OWNER with the GitHub owner
INSTALL = "pip install 'vended-log-reconciler @ git+https://github.com/OWNER/reconciler@main'"

PROJECT_FILE = """\
# yaml-language-server: $schema=schemas/project.schema.json
# The reconciler's project file. Reference: https://github.com/{workflows_from}#manifests
project: {project}          # every resource created is tagged reconciler:project={project}
region: {region}            # default region of manifests that name none
{account_line}
manifests: manifests/       # directory (or list) of manifest files, rendered with jinja2 first

# Other accounts, reached through a role (or a named profile):
# accounts:
#   "222222222222": {{roleArn: "arn:aws:iam::222222222222:role/log-admin"}}

# Tags put on everything this project creates:
# defaultTags: {{team: platform}}

# Template variables (typed); --var KEY=VALUE on the command line is always a string:
# vars:
#   retentionDays: 30

# Overlays selected with --env NAME:
# environments:
#   prod: {{account: "333333333333", vars: {{retentionDays: 365}}}}

# A lock so that two applies never run at once (a DynamoDB table with hash key LockID):
# lock: {{dynamodbTable: reconciler-locks}}

# Limits (defaults shown):
# timeouts: {{renderSeconds: 10, connectSeconds: 5, unreachableSeconds: 30}}
"""

EXAMPLE = """\
# yaml-language-server: $schema=../schemas/manifest.schema.json
# An example: application logs of a Bedrock knowledge base delivered to an S3 bucket.
# Edit the ARNs, then `reconciler plan` shows what would change and `reconciler apply` makes it so.
apiVersion: reconciler/v1
kind: DeliverySource
metadata:
  name: example-kb-logs
spec:
  logType: APPLICATION_LOGS
  resourceArn: arn:aws:bedrock:{region}:{account}:knowledge-base/EXAMPLE123
---
apiVersion: reconciler/v1
kind: DeliveryDestination
metadata:
  name: example-logs-s3
spec:
  outputFormat: json
  destinationResourceArn: arn:aws:s3:::example-{account}-logs
---
apiVersion: reconciler/v1
kind: Delivery
metadata:
  name: example-kb-to-s3
spec:
  source: example-kb-logs
  destination: example-logs-s3
"""

WORKFLOW = """\
# Calls the reconciler's reusable {what} workflow. Set the repository variable RECONCILER_ROLE_ARN to a role that
# GitHub OIDC can assume (no static keys), and replace OWNER with the owner of the reconciler repository.
name: reconciler {what}
on:
{trigger}
permissions:
  contents: read
  id-token: write
{extra_permissions}jobs:
  {what}:
    uses: {workflows_from}/.github/workflows/{what}.yml@main
    with:
      aws-role-arn: ${{{{ vars.RECONCILER_ROLE_ARN }}}}
      aws-region: {region}
      install: "{install}"
"""

TRIGGERS = {
    "plan": ('  pull_request:\n    paths: ["manifests/**", "reconciler.yaml"]', "  pull-requests: write\n"),
    "apply": ('  push:\n    branches: [main]\n    paths: ["manifests/**", "reconciler.yaml"]', ""),
    "drift": ('  schedule:\n    - cron: "17 6 * * *"\n  workflow_dispatch: {}', "  issues: write\n"),
}


def files(project: str, region: str, account: str | None, github: bool) -> dict[str, str]:
    """Relative path → content of every file ``init`` writes."""
    account_line = (
        f'account: "{account}"         # default account of manifests that name none'
        if account
        else '# account: "111111111111"  # default account; without it, the credentials\' account is used'
    )
    out = {
        "reconciler.yaml": PROJECT_FILE.format(
            project=project, region=region, account_line=account_line, workflows_from=WORKFLOWS_FROM
        ),
        "manifests/example.yaml": EXAMPLE.format(region=region, account=account or "111111111111"),
    }
    for name, doc in json_schemas().items():
        out[f"schemas/{name}.schema.json"] = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if github:
        for what, (trigger, extra) in TRIGGERS.items():
            out[f".github/workflows/reconciler-{what}.yml"] = WORKFLOW.format(
                what=what,
                trigger=trigger,
                extra_permissions=extra,
                workflows_from=WORKFLOWS_FROM,
                region=region,
                install=INSTALL,
            )
    return out
