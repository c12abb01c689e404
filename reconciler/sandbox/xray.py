"""X-Ray's Transaction Search setting and resource policies, which moto 5.2.5 does not implement.

``GetTraceSegmentDestination`` / ``UpdateTraceSegmentDestination`` (default: ``XRay``, ``ACTIVE``) and
``PutResourcePolicy`` / ``ListResourcePolicies`` / ``DeleteResourcePolicy`` (at most 5 policies per account and
region, 5,120 characters each), per account and region, REST-JSON as on AWS. ``reset`` clears them with the rest of
the sandbox.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PATHS = {
    "/GetTraceSegmentDestination",
    "/UpdateTraceSegmentDestination",
    "/ListResourcePolicies",
    "/PutResourcePolicy",
    "/DeleteResourcePolicy",
}
POLICY_COUNT_MAX = 5
POLICY_CHARS_MAX = 5120


@dataclass
class XrayState:
    destination: str = "XRay"
    status: str = "ACTIVE"
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)


_lock = threading.Lock()
_states: dict[tuple[str, str], XrayState] = {}


def reset() -> None:
    with _lock:
        _states.clear()


def state(account: str, region: str) -> XrayState:
    with _lock:
        return _states.setdefault((account, region), XrayState())


def handles(environ: dict[str, Any]) -> bool:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    return environ.get("PATH_INFO", "") in PATHS and "/xray/aws4_request" in auth


def region_of(environ: dict[str, Any]) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return str(auth.split("Credential=", 1)[1].split("/")[2])
    except IndexError:
        return "us-east-1"


def _answer(start_response: Any, status: int, doc: dict[str, Any]) -> list[bytes]:
    data = json.dumps(doc).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if status != 200:
        headers.append(("x-amzn-ErrorType", str(doc.get("__type", ""))))
    start_response(f"{status} {'OK' if status == 200 else 'Bad Request'}", headers)
    return [data]


def _error(start_response: Any, code: str, message: str) -> list[bytes]:
    return _answer(start_response, 400, {"__type": code, "Message": message, "message": message})


def handle(environ: dict[str, Any], start_response: Any, body: bytes, account: str) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    region = region_of(environ)
    st = state(account, region)
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return _error(start_response, "InvalidRequestException", "the body is not JSON")
    with _lock:
        if path == "/GetTraceSegmentDestination":
            return _answer(start_response, 200, {"Destination": st.destination, "Status": st.status})
        if path == "/UpdateTraceSegmentDestination":
            dest = params.get("Destination", "CloudWatchLogs")
            if dest not in ("XRay", "CloudWatchLogs"):
                return _error(start_response, "InvalidRequestException", f"unknown destination {dest!r}")
            st.destination, st.status = dest, "ACTIVE"
            return _answer(start_response, 200, {"Destination": st.destination, "Status": st.status})
        if path == "/ListResourcePolicies":
            return _answer(start_response, 200, {"ResourcePolicies": list(st.policies.values())})
        if path == "/PutResourcePolicy":
            name, doc = str(params.get("PolicyName", "")), str(params.get("PolicyDocument", ""))
            if len(doc) > POLICY_CHARS_MAX:
                return _error(
                    start_response, "PolicySizeLimitExceededException", f"over {POLICY_CHARS_MAX} characters"
                )
            try:
                json.loads(doc)
            except ValueError:
                return _error(start_response, "MalformedPolicyDocumentException", "the policy is not JSON")
            if name not in st.policies and len(st.policies) >= POLICY_COUNT_MAX:
                return _error(
                    start_response,
                    "PolicyCountLimitExceededException",
                    f"at most {POLICY_COUNT_MAX} resource policies per account and region",
                )
            policy = {
                "PolicyName": name,
                "PolicyDocument": doc,
                "PolicyRevisionId": str(int(time.time() * 1000)),
                "LastUpdatedTime": time.time(),
            }
            st.policies[name] = policy
            return _answer(start_response, 200, {"ResourcePolicy": policy})
        # DeleteResourcePolicy
        name = str(params.get("PolicyName", ""))
        if st.policies.pop(name, None) is None:
            return _error(start_response, "InvalidPolicyRevisionIdException", f"no policy named {name}")
        return _answer(start_response, 200, {})
