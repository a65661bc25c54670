"""The API schemas and the User dataclass name the same fields."""

from __future__ import annotations

from dataclasses import fields

from eventcrm.users.domain import WRITABLE_FIELDS, User
from eventcrm.users.schemas import UserCreate, UserRead, UserUpdate


def test_a_read_user_shows_every_field_of_a_user() -> None:
    assert set(UserRead.model_fields) == {f.name for f in fields(User)}


def test_create_put_and_patch_take_exactly_the_writable_fields() -> None:
    assert set(UserCreate.model_fields) == {*WRITABLE_FIELDS, "id"}
    assert set(UserUpdate.model_fields) == set(WRITABLE_FIELDS)
