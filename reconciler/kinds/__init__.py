"""The kinds of resource the reconciler manages, one module each, and the ``KINDS`` registry (see ``base.py``)."""

from __future__ import annotations

from reconciler.models import Kind

from .base import Attrs, Calls, ExportContext, FieldDiff, KindDef
from .delivery import Delivery, DeliveryAttrs
from .destination import Destination, DestinationAttrs
from .grant import Grant, GrantAttrs
from .policy import Policy, PolicyAttrs
from .source import Source, SourceAttrs

KINDS: dict[Kind, type[KindDef]] = {k.kind: k for k in (Source, Destination, Policy, Grant, Delivery)}

__all__ = [
    "KINDS",
    "Attrs",
    "Calls",
    "Delivery",
    "DeliveryAttrs",
    "Destination",
    "DestinationAttrs",
    "ExportContext",
    "FieldDiff",
    "Grant",
    "GrantAttrs",
    "KindDef",
    "Policy",
    "PolicyAttrs",
    "Source",
    "SourceAttrs",
]
