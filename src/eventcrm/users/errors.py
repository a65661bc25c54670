"""Errors of the users feature.

UserError
├── UserNotFound        (NotFound)
├── UserIdTaken         (Conflict)
└── UserEmailTaken      (Conflict)
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, NotFound


class UserError(DomainError):
    """Base for the users feature."""


class UserNotFound(UserError, NotFound):
    code = "user_not_found"
    title = "User not found"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"No user with id {user_id!r}.")
        self.user_id = user_id


class UserIdTaken(UserError, Conflict):
    code = "user_id_taken"
    title = "User id already exists"

    def __init__(self, user_id: str) -> None:
        super().__init__(f"A user with id {user_id!r} already exists.")


class UserEmailTaken(UserError, Conflict):
    code = "user_email_taken"
    title = "Email already in use"

    def __init__(self, email: str) -> None:
        super().__init__(
            f"Another user already has the email {email!r} (compared case-insensitively)."
        )
