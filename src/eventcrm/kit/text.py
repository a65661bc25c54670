"""Tiny string helpers."""

from __future__ import annotations

import re

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def to_snake(name: str) -> str:
    """``jobTitle`` -> ``job_title``; snake_case passes through unchanged."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def is_valid_unicode(value: str) -> bool:
    """Whether ``value`` can be encoded as UTF-8 (a lone surrogate, e.g. from the JSON
    escape ``"\\ud800"``, cannot, so no database driver could store it)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
