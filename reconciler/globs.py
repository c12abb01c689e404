"""The one address glob: ``--target``, ``--exclude`` and ignore rules all match resources with it (pure).

A pattern is an ``fnmatch`` glob (``*``, ``?``, ``[...]``, case-sensitive) over the whole address
``ACCOUNT/REGION/Kind/name`` or over its short form ``Kind/name``.
"""

from __future__ import annotations

import fnmatch


def short_address(address: str) -> str:
    """``Kind/name`` of ``ACCOUNT/REGION/Kind/name``."""
    return "/".join(address.split("/")[2:])


def address_matches(address: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Does any pattern match the address, whole or short?"""
    short = short_address(address)
    return any(fnmatch.fnmatchcase(address, p) or fnmatch.fnmatchcase(short, p) for p in patterns)
