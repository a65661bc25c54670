"""Errors of the access feature (API keys).

AccessError
├── ApiKeyNotFound      (NotFound)
└── ApiKeyPrefixTaken   (Conflict: a freshly drawn prefix already exists; retried)

Credentials that do not authenticate raise ``eventcrm.errors.Unauthenticated``;
a caller without the right role, ``eventcrm.errors.Forbidden``.
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, NotFound


class AccessError(DomainError):
    """Base for the access feature."""


class ApiKeyNotFound(AccessError, NotFound):
    code = "api_key_not_found"
    title = "API key not found"

    def __init__(self, prefix: str) -> None:
        super().__init__(f"No API key with prefix {prefix!r}.")


class ApiKeyPrefixTaken(AccessError, Conflict):
    code = "api_key_prefix_taken"
    title = "API key prefix already exists"

    def __init__(self, prefix: str) -> None:
        super().__init__(f"An API key with prefix {prefix!r} already exists.")
