"""Generate reconciler/capabilities.json: what AWS accepts per source service, log type and destination type.

Sources, each recorded with its version in the output:
- botocore's ``logs`` service model (the installed botocore; ``pyproject.toml`` pins the version the committed table
  is made from): the services and log types listed in ``PutDeliverySource.logType``'s documentation, the wildcard
  ARNs in ``resourceArn``'s documentation, the ``OutputFormat`` and ``DeliveryDestinationType`` enums.
- the AWS CDK service specification (npm ``@aws-cdk/aws-service-spec``, ``db.json.gz``): ``vendedLogs`` per
  CloudFormation resource type: log types, destination types, output formats per destination, mandatory and
  optional record fields; ``arnTemplate``.
- ``CURATED`` below: what neither source says in a machine-readable way (which ARN belongs to which documented
  service, the field delimiters and suffix-path variables, the defaults recorded on AWS), each with its source.

Where the two disagree the script prints the disagreement and keeps the more permissive answer with a note.
Output is deterministic (sorted keys, two-space indent, a final newline), so ``tests/test_capabilities.py`` can
regenerate it and compare byte for byte.

Usage: python scripts/capabilities.py [--out FILE] [--check]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "reconciler" / "capabilities.json"

CDK_PACKAGE = "@aws-cdk/aws-service-spec"
CDK_VERSION = "0.1.216"
CDK_TARBALL = "https://registry.npmjs.org/@aws-cdk/aws-service-spec/-/aws-service-spec-0.1.216.tgz"
CDK_INTEGRITY = (
    "sha512-O3Lu6v6J6RnI+Eenklbw8237kV64cTpM94QEXmlcmsIAzhcKrdd+qApZhlTL+H3IDt1JP6Vphbd+OOmq6r8pqw=="
)

# Output formats per destination type when the CDK spec says nothing about a log type (its common answer).
GENERIC_DESTINATIONS = {
    "CWL": ["json", "plain"],
    "FH": ["json", "plain", "raw"],
    "S3": ["json", "parquet", "plain", "w3c"],
}
TRACES_DESTINATIONS = {"XRAY": []}  # X-Ray takes no outputFormat

# guide-V2 ("If you are delivering logs cross-account, you can use only Amazon S3 and Firehose destinations").
CROSS_ACCOUNT_DESTINATION_TYPES = ["FH", "S3"]

# Field delimiters AWS accepts for plain/w3c/raw output and the suffix-path variables of S3 deliveries: the values
# the CloudWatch Logs console offers and DescribeConfigurationTemplates returns for the log types recorded on AWS
# (LocalStack snapshots); neither machine-readable source lists them per log type.
FIELD_DELIMITERS = ["", "\t", " ", ",", "|", ";"]
SUFFIX_PATH_FIELDS = ["{account-id}", "{region}", "{yyyy}", "{MM}", "{dd}", "{HH}"]
DELIMITED_FORMATS = ["plain", "raw", "w3c"]  # model: fieldDelimiter is used only for these

# CloudFront access logs to S3 as recorded on AWS (LocalStack snapshot): 33 fields, no fieldDelimiter key, and the
# suffix path AWS adds on create, with its trailing slash.
CLOUDFRONT_S3_FIELDS = [
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem", "sc-status",
    "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)", "x-edge-result-type", "x-edge-request-id",
    "x-host-header", "cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields", "c-port",
    "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type", "sc-content-len", "sc-range-start",
    "sc-range-end",
]  # fmt: skip
CLOUDFRONT_SUFFIX_PREFIX = "AWSLogs/{account-id}/CloudFront/"

# Which ARNs belong to each service named in the model documentation, and its CloudFormation types in the CDK spec.
# resourcePrefixes: the ARN's resource part starts with one of these ("" = any). regionless: the ARN has no region.
CURATED: dict[str, dict[str, Any]] = {
    "Amazon Web Services Amplify": {"arnService": "amplify", "resourcePrefixes": ["apps/"], "cfn": []},
    "Application Load Balancer": {
        "arnService": "elasticloadbalancing",
        "resourcePrefixes": ["loadbalancer/app/"],
        "cfn": ["AWS::ElasticLoadBalancingV2::LoadBalancer"],
        "logTypePrefix": "ALB_",
    },
    "Network Load Balancer": {
        "arnService": "elasticloadbalancing",
        "resourcePrefixes": ["loadbalancer/net/"],
        "cfn": ["AWS::ElasticLoadBalancingV2::LoadBalancer"],
        "logTypePrefix": "NLB_",
    },
    "Amazon Bedrock AgentCore Gateway": {
        "arnService": "bedrock-agentcore",
        "resourcePrefixes": ["gateway/"],
        "cfn": ["AWS::BedrockAgentCore::Gateway"],
    },
    "Amazon Bedrock AgentCore Identity": {
        "arnService": "bedrock-agentcore",
        "resourcePrefixes": ["workload-identity-directory/"],
        "cfn": ["AWS::BedrockAgentCore::WorkloadIdentity"],
    },
    "Amazon Bedrock AgentCore Memory": {
        "arnService": "bedrock-agentcore",
        "resourcePrefixes": ["memory/"],
        "cfn": ["AWS::BedrockAgentCore::Memory"],
    },
    "Amazon Bedrock AgentCore Payments": {
        # ARN form not published in either source; the CloudFormation type names payment credential providers
        "arnService": "bedrock-agentcore",
        "resourcePrefixes": ["payment"],
        "cfn": ["AWS::BedrockAgentCore::PaymentCredentialProvider"],
    },
    "Amazon Bedrock AgentCore Runtime": {
        "arnService": "bedrock-agentcore",
        "resourcePrefixes": ["runtime/"],
        "cfn": ["AWS::BedrockAgentCore::Runtime"],
    },
    "Amazon Bedrock AgentCore Tools": {
        "arnService": "bedrock-agentcore",
        "resourcePrefixes": ["browser/", "browser-custom/", "code-interpreter/", "code-interpreter-custom/"],
        "cfn": ["AWS::BedrockAgentCore::BrowserCustom", "AWS::BedrockAgentCore::CodeInterpreterCustom"],
    },
    "Amazon Bedrock Agents": {
        "arnService": "bedrock",
        "resourcePrefixes": ["agent/", "agent-alias/"],
        "cfn": ["AWS::Bedrock::AgentAlias"],
    },
    "Amazon Bedrock Knowledge Bases": {
        "arnService": "bedrock",
        "resourcePrefixes": ["knowledge-base/"],
        "cfn": ["AWS::Bedrock::KnowledgeBase"],
    },
    "CloudFront": {
        "arnService": "cloudfront",
        "resourcePrefixes": ["distribution/"],
        "cfn": ["AWS::CloudFront::Distribution"],
        "regionless": True,
        "usEast1Only": ["ACCESS_LOGS"],  # Terraform acceptance tests
    },
    "query execution logs from CloudWatch Logs Insights": {
        "arnService": "logs",
        "resourcePrefixes": ["log-group:"],
        "cfn": ["AWS::Logs::LogGroup"],
    },
    "Amazon CodeWhisperer": {"arnService": "codewhisperer", "resourcePrefixes": [""], "cfn": []},
    "DevOps Agent": {
        "arnService": "aidevops",
        "resourcePrefixes": ["agentspace/"],
        "cfn": ["AWS::DevOpsAgent::AgentSpace"],
    },
    "Amazon EKS Auto Mode": {
        "arnService": "eks",
        "resourcePrefixes": ["cluster/"],
        "cfn": ["AWS::EKS::Cluster"],
    },
    "Amazon EKS Capability Logs": {
        "arnService": "eks",
        "resourcePrefixes": ["capability/"],
        "cfn": ["AWS::EKS::Capability"],
    },
    "Amazon Web Services Elemental Inference": {
        "arnService": "elemental-inference",
        "resourcePrefixes": ["feed/"],
        "cfn": ["AWS::ElementalInference::Feed"],
    },
    "Elemental MediaPackage": {
        "arnService": "mediapackage",
        "alsoArnServices": ["mediapackagev2"],
        "resourcePrefixes": [""],
        "cfn": ["AWS::MediaPackageV2::ChannelGroup"],
    },
    "Elemental MediaTailor": {
        "arnService": "mediatailor",
        "resourcePrefixes": [""],
        "cfn": ["AWS::MediaTailor::PlaybackConfiguration"],
    },
    "Amazon ECS": {"arnService": "ecs", "resourcePrefixes": [""], "cfn": ["AWS::ECS::Cluster"]},
    "Entity Resolution": {
        "arnService": "entityresolution",
        "resourcePrefixes": [""],
        "cfn": ["AWS::EntityResolution::IdMappingWorkflow", "AWS::EntityResolution::MatchingWorkflow"],
    },
    "Amazon EventBridge Event Bus (Custom)": {
        "arnService": "events",
        "resourcePrefixes": ["event-bus/"],
        "cfn": ["AWS::Events::EventBus"],
    },
    "IAM Identity Center": {"arnService": "sso", "resourcePrefixes": [""], "cfn": []},
    "Network Firewall Proxy": {
        "arnService": "network-firewall",
        "resourcePrefixes": ["firewall/", "proxy"],
        "cfn": ["AWS::NetworkFirewall::Firewall"],
    },
    "PCS": {"arnService": "pcs", "resourcePrefixes": ["cluster/"], "cfn": ["AWS::PCS::Cluster"]},
    "Amazon Q": {"arnService": "qbusiness", "resourcePrefixes": [""], "cfn": ["AWS::QBusiness::Application"]},
    "Amazon Q in Connect AI agents": {
        "arnService": "wisdom",
        "resourcePrefixes": [""],
        "cfn": ["AWS::Wisdom::Assistant"],
    },
    "Quick": {"arnService": "quicksight", "resourcePrefixes": [""], "cfn": []},
    "Route 53 Global Resolver": {
        # IAM service authorization reference: arn:${Partition}:route53globalresolver::${Account}:global-resolver/${Id}
        "arnService": "route53globalresolver",
        "resourcePrefixes": ["global-resolver/"],
        "cfn": [],
        "regionless": True,
    },
    "Amazon Web Services RTB Fabric": {
        "arnService": "rtbfabric",
        "resourcePrefixes": [""],
        "cfn": ["AWS::RTBFabric::Link"],
    },
    "Amazon S3": {
        "arnService": "s3",
        "resourcePrefixes": [""],
        "cfn": ["AWS::S3::Bucket"],
        "regionless": True,
    },
    "Amazon Web Services Security Hub": {
        "arnService": "securityhub",
        "resourcePrefixes": ["hubv2/"],
        "cfn": ["AWS::SecurityHub::HubV2"],
    },
    "Amazon Web Services Security Hub CSPM": {
        "arnService": "securityhub",
        "resourcePrefixes": ["hub/"],
        "cfn": ["AWS::SecurityHub::Hub"],
    },
    "Amazon SES mail manager": {
        "arnService": "ses",
        "resourcePrefixes": ["mailmanager-"],
        "cfn": ["AWS::SES::MailManagerIngressPoint", "AWS::SES::MailManagerRuleSet"],
    },
    "Amazon Web Services Shield Advanced": {
        "arnService": "shield",
        "resourcePrefixes": [""],
        "cfn": ["AWS::Shield::Protection"],
        "regionless": True,
    },
    "Amazon VPC Route Server": {
        "arnService": "ec2",
        "resourcePrefixes": ["route-server/", "route-server-peer/"],
        "cfn": ["AWS::EC2::RouteServerPeer"],
    },
    "Amazon WorkMail": {"arnService": "workmail", "resourcePrefixes": ["organization/"], "cfn": []},
}


def log(message: str) -> None:
    print(message, file=sys.stderr)


# ---- botocore -------------------------------------------------------------------------------------------------


def botocore_model() -> dict[str, Any]:
    model: dict[str, Any] = botocore.loaders.Loader().load_service_model("logs", "service-2")
    return model


def documented_log_types(model: dict[str, Any]) -> dict[str, list[str]]:
    """Service name → log types, from PutDeliverySource.logType's documentation."""
    doc = model["shapes"]["PutDeliverySourceRequest"]["members"]["logType"]["documentation"]
    out: dict[str, list[str]] = {}
    for item in re.findall(r"<li>\s*<p>(.*?)</p>\s*</li>", doc, re.S):
        m = re.match(r"For (.*?), the valid values? (?:is|are) (.*)", item, re.S)
        if not m:
            raise SystemExit(f"unrecognised PutDeliverySource.logType documentation item: {item!r}")
        name = " ".join(m.group(1).split())  # the documentation has non-breaking spaces in some names
        out[name] = re.findall(r"<code>(\w+)</code>", m.group(2))
    return out


# ---- CDK service spec ----------------------------------------------------------------------------------------


def cache_dir() -> Path:
    env = os.environ.get("RECONCILER_CACHE")
    if env:
        return Path(env)
    venv = ROOT / ".venv"
    return (venv / "cache") if venv.is_dir() else Path(tempfile.gettempdir()) / "reconciler-cache"


def cdk_tarball() -> bytes:
    """The pinned npm tarball, downloaded once into the cache and checked against its published integrity."""
    path = cache_dir() / f"aws-service-spec-{CDK_VERSION}.tgz"
    algo, _, digest = CDK_INTEGRITY.partition("-")
    if path.is_file():
        data = path.read_bytes()
    else:
        log(f"downloading {CDK_TARBALL}")
        with urllib.request.urlopen(CDK_TARBALL, timeout=120) as resp:  # a pinned https URL
            data = resp.read()
    if base64.b64encode(hashlib.new(algo, data).digest()).decode() != digest:
        raise SystemExit(f"{CDK_TARBALL}: integrity check failed (expected {CDK_INTEGRITY})")
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return data


def cdk_vended_logs() -> dict[str, dict[str, Any]]:
    """CloudFormation type → {"arnTemplate": ..., "vendedLogs": [...]} for every type with vended logs."""
    with tarfile.open(fileobj=io.BytesIO(cdk_tarball()), mode="r:gz") as tar:
        member = tar.extractfile("package/db.json.gz")
        assert member is not None
        db = json.loads(gzip.decompress(member.read()))
    out = {}
    for entity in db["schema"]["resource"]["entities"]:
        if entity.get("vendedLogs"):
            out[entity["cloudFormationType"]] = {
                "arnTemplate": entity.get("arnTemplate"),
                "vendedLogs": entity["vendedLogs"],
            }
    return out


# ---- merge ----------------------------------------------------------------------------------------------------


def _merge_fields(first: list[str], second: list[str]) -> list[str]:
    out = list(first)
    out.extend(f for f in second if f not in out)
    return out


def _log_type_entry(
    name: str, log_type: str, cdk_entries: list[dict[str, Any]], notes: list[str]
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if not cdk_entries:
        entry["destinations"] = dict(TRACES_DESTINATIONS if log_type == "TRACES" else GENERIC_DESTINATIONS)
        entry["fields"] = None  # not published: record fields are not checked
        entry["notes"] = ["destinations and formats: the CDK spec has no entry; the common answer is used"]
        return entry
    destinations: dict[str, list[str]] = {}
    every: list[str] = []
    mandatory: list[str] | None = None
    for v in cdk_entries:
        for d in v["destinations"]:
            formats = destinations.setdefault(d["destinationType"], [])
            formats.extend(f for f in d.get("outputFormats", []) if f not in formats)
        own = list(v.get("mandatoryFields", []))
        # the more permissive answer: mandatory only where every resource type says so
        mandatory = own if mandatory is None else [f for f in mandatory if f in own]
        every = _merge_fields(every, own + list(v.get("optionalFields", [])))
    mandatory = mandatory or []
    optional = [f for f in every if f not in mandatory]
    if len(cdk_entries) > 1:
        notes.append(f"{name} {log_type}: CDK spec entries of several resource types merged (union)")
    entry["destinations"] = {k: sorted(v) for k, v in sorted(destinations.items())}
    entry["fields"] = {"mandatory": mandatory, "optional": [f for f in optional if f not in mandatory]}
    return entry


def _defaults(service: dict[str, Any], log_type: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Server-side values of omitted delivery fields, per destination type (as recorded on AWS, else derived)."""
    out: dict[str, Any] = {}
    fields = entry["fields"]
    for dest in entry["destinations"]:
        if dest == "XRAY":
            continue
        d: dict[str, Any] = {}
        if service["arnService"] == "cloudfront" and log_type == "ACCESS_LOGS":
            d["recordFields"] = list(CLOUDFRONT_S3_FIELDS)
        elif fields is not None:
            d["recordFields"] = fields["mandatory"] + fields["optional"]
        if dest == "S3":
            if service["arnService"] == "cloudfront":
                d["s3DeliveryConfiguration"] = {
                    "enableHiveCompatiblePath": False,
                    "suffixPath": CLOUDFRONT_SUFFIX_PREFIX,
                }
            else:
                d["s3DeliveryConfiguration"] = {"enableHiveCompatiblePath": False}
        out[dest] = d
    return out


def build(model: dict[str, Any], cdk: dict[str, dict[str, Any]]) -> dict[str, Any]:
    documented = documented_log_types(model)
    notes: list[str] = []
    missing = sorted(set(documented) - set(CURATED))
    if missing:
        raise SystemExit(f"services in the botocore documentation without a CURATED entry: {missing}")
    services: dict[str, Any] = {}
    used_cfn: set[str] = set()
    for name in sorted(CURATED):
        cur = CURATED[name]
        doc_types = documented.get(name)
        if doc_types is None:
            notes.append(f"{name}: not in the botocore documentation (CURATED only)")
            doc_types = []
        cdk_by_type: dict[str, list[dict[str, Any]]] = {}
        arn_templates = []
        for cfn in cur["cfn"]:
            spec = cdk.get(cfn)
            if spec is None:
                notes.append(f"{name}: {cfn} has no vendedLogs in the CDK spec")
                continue
            used_cfn.add(cfn)
            if spec["arnTemplate"]:
                arn_templates.append(spec["arnTemplate"])
            for v in spec["vendedLogs"]:
                if cur.get("logTypePrefix") and not v["logType"].startswith(cur["logTypePrefix"]):
                    continue
                cdk_by_type.setdefault(v["logType"], []).append(v)
        log_types = list(doc_types)
        for lt in sorted(cdk_by_type):
            if lt not in log_types:
                message = f"{name}: {lt} is in the CDK spec but not in the botocore documentation; kept"
                log(f"disagreement: {message}")
                notes.append(message)
                log_types.append(lt)
        for lt in doc_types:
            if cur["cfn"] and lt not in cdk_by_type:
                notes.append(f"{name}: {lt} is in the botocore documentation but not in the CDK spec; kept")
        entries = {}
        for lt in sorted(log_types):
            lt_notes: list[str] = []
            entry = _log_type_entry(name, lt, cdk_by_type.get(lt, []), lt_notes)
            notes.extend(lt_notes)
            entry["defaults"] = _defaults(cur, lt, entry)
            entries[lt] = entry
        services[name] = {
            "arnServices": [cur["arnService"], *cur.get("alsoArnServices", [])],
            "resourcePrefixes": sorted(cur["resourcePrefixes"]),
            "regionless": bool(cur.get("regionless", False)),
            "cloudFormationTypes": sorted(cur["cfn"]),
            "arnTemplates": sorted(set(arn_templates)),
            "usEast1Only": sorted(cur.get("usEast1Only", [])),
            "logTypes": entries,
        }
    for cfn in sorted(set(cdk) - used_cfn):
        message = f"{cfn}: vended logs in the CDK spec for a type no service here maps to"
        log(f"disagreement: {message}")
        notes.append(message)
    shapes = model["shapes"]
    return {
        "generatedBy": "scripts/capabilities.py (make capabilities); do not edit by hand",
        "sources": {
            "botocore": botocore.__version__,
            CDK_PACKAGE: CDK_VERSION,
        },
        "outputFormats": sorted(shapes["OutputFormat"]["enum"]),
        "destinationTypes": sorted(shapes["DeliveryDestinationType"]["enum"]),
        "crossAccountDestinationTypes": CROSS_ACCOUNT_DESTINATION_TYPES,
        "delimitedFormats": DELIMITED_FORMATS,
        "fieldDelimiters": FIELD_DELIMITERS,
        "suffixPathFields": SUFFIX_PATH_FIELDS,
        "services": services,
        "notes": sorted(set(notes)),
    }


def render(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generate() -> str:
    return render(build(botocore_model(), cdk_vended_logs()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs from a fresh run")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if not args.out.is_file() or args.out.read_text(encoding="utf-8") != text:
            log(f"{args.out} is out of date; run make capabilities")
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    log(f"wrote {args.out} (botocore {botocore.__version__}, {CDK_PACKAGE} {CDK_VERSION})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
