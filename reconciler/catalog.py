"""Which AWS services can be delivery sources, and with which log types: the one table for it.

The table is derived from the documentation of ``PutDeliverySource.logType`` in botocore's ``logs`` service model
(Nov 2026); ``tests/test_catalog.py`` reads that documentation and fails when a row here disagrees with it. Each row
maps what a resource ARN shows (its service and the start of its resource part) to the service's name in that
documentation. The live list on a given account is ``DescribeConfigurationTemplates``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceService:
    arn_service: str  # the third field of the ARN
    resource_prefixes: tuple[str, ...]  # the resource part starts with one of these ("" = any)
    doc_name: str  # the service as named in the model documentation
    log_types: tuple[str, ...]


SOURCE_SERVICES: tuple[SourceService, ...] = (
    SourceService("amplify", ("apps/",), "Amazon Web Services Amplify", ("ACCESS_LOGS", "WAF_LOGS")),
    SourceService(
        "elasticloadbalancing",
        ("loadbalancer/app/",),
        "Application Load Balancer",
        ("ALB_ACCESS_LOGS", "ALB_CONNECTION_LOGS", "ALB_HEALTH_CHECK_LOGS"),
    ),
    SourceService(
        "elasticloadbalancing", ("loadbalancer/net/",), "Network Load Balancer", ("NLB_ACCESS_LOGS",)
    ),
    SourceService(
        "bedrock-agentcore", ("gateway/",), "Amazon Bedrock AgentCore Gateway", ("APPLICATION_LOGS", "TRACES")
    ),
    SourceService(
        "bedrock-agentcore",
        ("workload-identity-directory/",),
        "Amazon Bedrock AgentCore Identity",
        ("APPLICATION_LOGS", "TRACES"),
    ),
    SourceService(
        "bedrock-agentcore", ("memory/",), "Amazon Bedrock AgentCore Memory", ("APPLICATION_LOGS", "TRACES")
    ),
    SourceService(
        "bedrock-agentcore",
        ("runtime/",),
        "Amazon Bedrock AgentCore Runtime",
        ("APPLICATION_LOGS", "USAGE_LOGS", "TRACES"),
    ),
    SourceService(
        "bedrock-agentcore",
        ("code-interpreter/", "browser/"),
        "Amazon Bedrock AgentCore Tools",
        ("APPLICATION_LOGS", "USAGE_LOGS", "TRACES"),
    ),
    SourceService("bedrock", ("agent/",), "Amazon Bedrock Agents", ("APPLICATION_LOGS", "EVENT_LOGS")),
    SourceService(
        "bedrock", ("knowledge-base/",), "Amazon Bedrock Knowledge Bases", ("APPLICATION_LOGS", "TRACES")
    ),
    SourceService("cloudfront", ("distribution/",), "CloudFront", ("ACCESS_LOGS",)),
    SourceService(
        "logs",
        ("log-group:",),
        "query execution logs from CloudWatch Logs Insights",
        ("INSIGHTS_QUERY_LOGS",),
    ),
    SourceService("codewhisperer", ("",), "Amazon CodeWhisperer", ("EVENT_LOGS",)),
    SourceService(
        "eks",
        ("cluster/",),
        "Amazon EKS Auto Mode",
        (
            "AUTO_MODE_BLOCK_STORAGE_LOGS",
            "AUTO_MODE_COMPUTE_LOGS",
            "AUTO_MODE_IPAM_LOGS",
            "AUTO_MODE_LOAD_BALANCING_LOGS",
        ),
    ),
    SourceService(
        "eks",
        ("capability/",),
        "Amazon EKS Capability Logs",
        (
            "EKS_CAPABILITY_ACK_LOGS",
            "EKS_CAPABILITY_ARGOCD_APPLICATION_LOGS",
            "EKS_CAPABILITY_ARGOCD_APPLICATIONSET_LOGS",
            "EKS_CAPABILITY_ARGOCD_COMMITSERVER_LOGS",
            "EKS_CAPABILITY_ARGOCD_REPOSERVER_LOGS",
            "EKS_CAPABILITY_ARGOCD_SERVER_LOGS",
            "EKS_CAPABILITY_KRO_LOGS",
        ),
    ),
    SourceService(
        "mediapackage", ("",), "Elemental MediaPackage", ("EGRESS_ACCESS_LOGS", "INGRESS_ACCESS_LOGS")
    ),
    SourceService(
        "mediapackagev2", ("",), "Elemental MediaPackage", ("EGRESS_ACCESS_LOGS", "INGRESS_ACCESS_LOGS")
    ),
    SourceService(
        "mediatailor",
        ("",),
        "Elemental MediaTailor",
        ("AD_DECISION_SERVER_LOGS", "MANIFEST_SERVICE_LOGS", "TRANSCODE_LOGS"),
    ),
    SourceService("ecs", ("",), "Amazon ECS", ("ACTION_LOGS",)),
    SourceService("entityresolution", ("",), "Entity Resolution", ("WORKFLOW_LOGS",)),
    SourceService(
        "events", ("event-bus/",), "Amazon EventBridge Event Bus (Custom)", ("INFO_LOGS", "ERROR_LOGS")
    ),
    SourceService("sso", ("",), "IAM Identity Center", ("ERROR_LOGS",)),
    SourceService(
        "network-firewall", ("proxy",), "Network Firewall Proxy", ("ALERT_LOGS", "ALLOW_LOGS", "DENY_LOGS")
    ),
    SourceService(
        "pcs",
        ("cluster/",),
        "PCS",
        ("PCS_SCHEDULER_LOGS", "PCS_JOBCOMP_LOGS", "PCS_SCHEDULER_AUDIT_LOGS", "PCS_SCALING_LOGS"),
    ),
    SourceService("qbusiness", ("",), "Amazon Q", ("EVENT_LOGS", "SYNC_JOB_LOGS")),
    SourceService("wisdom", ("",), "Amazon Q in Connect AI agents", ("EVENT_LOGS",)),
    SourceService("s3", ("",), "Amazon S3", ("S3_SERVER_ACCESS_LOGS",)),
    SourceService("securityhub", ("hub/",), "Amazon Web Services Security Hub", ("SECURITY_FINDING_LOGS",)),
    SourceService(
        "ses", ("mailmanager-",), "Amazon SES mail manager", ("APPLICATION_LOGS", "TRAFFIC_POLICY_DEBUG_LOGS")
    ),
    SourceService("shield", ("",), "Amazon Web Services Shield Advanced", ("FLOW_LOGS",)),
    SourceService("ec2", ("route-server/",), "Amazon VPC Route Server", ("EVENT_LOGS",)),
    SourceService(
        "workmail",
        ("organization/",),
        "Amazon WorkMail",
        (
            "ACCESS_CONTROL_LOGS",
            "AUTHENTICATION_LOGS",
            "WORKMAIL_AVAILABILITY_PROVIDER_LOGS",
            "WORKMAIL_MAILBOX_ACCESS_LOGS",
            "WORKMAIL_PERSONAL_ACCESS_TOKEN_LOGS",
        ),
    ),
)

# CloudFront access logs can only be delivered from us-east-1 (Terraform acceptance tests).
US_EAST_1_ONLY = {("cloudfront", "ACCESS_LOGS")}
# On create, AWS prefixes a CloudFront delivery's S3 suffixPath with this (TF #40968); not on update.
CLOUDFRONT_SUFFIX_PREFIX = "AWSLogs/{account-id}/CloudFront/"


def split_arn(arn: str) -> tuple[str, str, str, str, str] | None:
    """(partition, service, region, account, resource) or None when it is not an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2]:
        return None
    return parts[1], parts[2], parts[3], parts[4], parts[5]


def services_for_arn(arn: str) -> list[SourceService]:
    """The catalogue rows whose service and resource prefix match the ARN (empty when none)."""
    parsed = split_arn(arn)
    if parsed is None:
        return []
    _, service, _, _, resource = parsed
    return [
        row
        for row in SOURCE_SERVICES
        if row.arn_service == service and any(resource.startswith(p) for p in row.resource_prefixes)
    ]


def log_types_for_arn(arn: str) -> tuple[str, ...] | None:
    """Allowed log types for a source ARN, or None when the service cannot be a delivery source."""
    rows = services_for_arn(arn)
    if not rows:
        return None
    seen: dict[str, None] = {}
    for row in rows:
        for log_type in row.log_types:
            seen[log_type] = None
    return tuple(seen)


# Destination ARN service -> deliveryDestinationType
DESTINATION_SERVICES = {"s3": "S3", "logs": "CWL", "firehose": "FH"}


def destination_type_for_arn(arn: str) -> str | None:
    parsed = split_arn(arn)
    if parsed is None:
        return None
    return DESTINATION_SERVICES.get(parsed[1])
