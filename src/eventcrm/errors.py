"""The domain error hierarchy shared by every feature.

Features raise these (or subclasses); none carries an HTTP status. The single
mapping to RFC 9457 problem responses lives in ``eventcrm.api.problems``::

    DomainError
    ├── NotFound            the thing named does not exist (404)
    ├── Conflict            the request clashes with current state (409)
    ├── Busy                a transient clash with concurrent work; retry (503)
    ├── Unavailable         the database cannot be reached right now; retry later (503)
    ├── Unauthenticated     no credential, or one that is unknown, revoked or expired (401)
    ├── Forbidden           a known caller without the right to do this (403)
    ├── LimitExceeded       a caller's budget is spent; retry after ``retry_after`` (429)
    └── InvalidInput        well-formed but unacceptable input (422, or 400)
        ├── InvalidCursor   a pagination cursor that is malformed or tampered (400)
        └── QueryNeedsSqlBackend  a listing DynamoDB cannot serve within its read ceiling (422)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad field: where it is (as the client spelled it) and what is wrong."""

    loc: tuple[str | int, ...]
    message: str
    type: str = "value_error"


class DomainError(Exception):
    """Base of every error a feature raises on purpose."""

    #: A short, stable slug used to build the problem ``type`` URI.
    code: str = "error"
    #: The human title of this kind of problem.
    title: str = "Error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class Busy(DomainError):
    """The storage could not serialise this request against concurrent ones
    (a deadlock, a serialisation failure, a lock wait that timed out). Nothing
    was written; the same request can simply be retried."""

    code = "busy"
    title = "Busy, retry"


class Unavailable(DomainError):
    """The storage cannot be reached (refused or dropped connections, an
    exhausted pool, a database file that cannot be opened). The request may
    not have been applied; it can be retried once the storage is back."""

    code = "service_unavailable"
    title = "Service unavailable"

    def __init__(
        self, detail: str = "The database cannot be reached right now; retry later."
    ) -> None:
        super().__init__(detail)


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(
        self, detail: str = "Send a valid credential: Authorization: Bearer <key>."
    ) -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class LimitExceeded(DomainError):
    """The caller has used up a budget (requests per minute, recipients per day);
    the same request succeeds after ``retry_after`` seconds."""

    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidInput(DomainError):
    code = "invalid_input"
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldProblem] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    title = "Invalid cursor"

    def __init__(
        self,
        detail: str = "The cursor is malformed, tampered with, or belongs to another sort.",
        *,
        loc: tuple[str | int, ...] = ("query", "cursor"),
    ) -> None:
        super().__init__(detail, [FieldProblem(loc, detail, "invalid_cursor")])


class QueryNeedsSqlBackend(InvalidInput):
    """A listing or count that would read more items than the DynamoDB backend's
    ceiling (``EVENTCRM_DYNAMODB_SCAN_LIMIT``): narrow the filter, or use the SQL
    backend for such queries (docs/dynamodb.md)."""

    code = "query_needs_sql_backend"
    title = "Query needs the SQL backend"

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(
            f"Listing {what} would read more than {limit} items on DynamoDB: narrow the "
            "filter (company, jobTitle or city select through an index), or run this "
            "query on the SQL backend."
        )
