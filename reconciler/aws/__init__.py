"""The only package that talks to AWS (boto3/botocore stay inside it; ruff TID251 keeps it so).

``transport`` (sessions and clients per account/region; one call under a ``RetryPolicy`` and ``RateLimiter``; the
``ERROR_TABLE`` from AWS error codes to typed errors), ``reader`` (live state), ``writer`` (the writes ``apply``
sends), ``lock`` (the apply lock). The names other modules use are re-exported here.
"""

from reconciler.kinds.delivery import from_api as delivery_from_api
from reconciler.kinds.destination import from_api as destination_from_api
from reconciler.kinds.policy import from_api as policy_from_api
from reconciler.kinds.source import from_api as source_from_api

from .lock import Lease
from .reader import (
    TAG_PAGE_TYPES,
    Api,
    DiscoveryJob,
    LiveState,
    ScopeState,
)
from .transport import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    CALL_DEADLINE_SECONDS,
    DEFAULT_RETRY,
    DENIED_CODES,
    ERROR_TABLE,
    MAX_ATTEMPTS,
    NOT_FOUND,
    THROTTLING_CODES,
    TRANSIENT_CONFLICT,
    RateLimiter,
    RetryPolicy,
    Transport,
    aws_error,
    known_regions,
    profile_not_found,
    region_problem,
)

__all__ = [
    "BACKOFF_BASE_SECONDS",
    "BACKOFF_CAP_SECONDS",
    "CALL_DEADLINE_SECONDS",
    "DEFAULT_RETRY",
    "DENIED_CODES",
    "ERROR_TABLE",
    "MAX_ATTEMPTS",
    "NOT_FOUND",
    "TAG_PAGE_TYPES",
    "THROTTLING_CODES",
    "TRANSIENT_CONFLICT",
    "Api",
    "DiscoveryJob",
    "Lease",
    "LiveState",
    "RateLimiter",
    "RetryPolicy",
    "ScopeState",
    "Transport",
    "aws_error",
    "delivery_from_api",
    "destination_from_api",
    "known_regions",
    "policy_from_api",
    "profile_not_found",
    "region_problem",
    "source_from_api",
]
