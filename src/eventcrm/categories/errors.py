"""Errors of the categories feature.

CategoryError
├── CategoryNotFound     (NotFound)
├── CategoryIdTaken      (Conflict)
├── CategoryNameTaken    (Conflict)
└── CategoryInUse        (Conflict)
"""

from __future__ import annotations

from eventcrm.errors import Conflict, DomainError, NotFound


class CategoryError(DomainError):
    """Base for the categories feature."""


class CategoryNotFound(CategoryError, NotFound):
    code = "category_not_found"
    title = "Category not found"

    def __init__(self, category_id: str) -> None:
        super().__init__(f"No category with id {category_id!r}.")


class CategoryIdTaken(CategoryError, Conflict):
    code = "category_id_taken"
    title = "Category id already exists"

    def __init__(self, category_id: str) -> None:
        super().__init__(f"A category with id {category_id!r} already exists.")


class CategoryNameTaken(CategoryError, Conflict):
    code = "category_name_taken"
    title = "Category name already in use"

    def __init__(self, name: str) -> None:
        super().__init__(f"A category named {name!r} already exists (compared case-insensitively).")


class CategoryInUse(CategoryError, Conflict):
    code = "category_in_use"
    title = "Category in use"

    def __init__(self, category_id: str, events: int) -> None:
        super().__init__(
            f"Category {category_id!r} is used by {events} event(s), including deleted ones; "
            "move them to another category first."
        )
