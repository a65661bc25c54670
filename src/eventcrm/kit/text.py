"""Field names as clients spell them (``jobTitle`` or ``job_title``)."""

from __future__ import annotations

from pydantic.alias_generators import to_snake

#: Longer than any field name. Pydantic's ``to_snake`` takes time quadratic in a
#: run of capitals, so a longer string, which names no field, is left as it is.
_MAX_NAME_LENGTH = 64


def snake_name(name: str) -> str:
    """The snake_case field a client's name refers to (``jobTitle`` -> ``job_title``).

    Kebab-case is not a spelling of a field: ``job-title`` stays as it is.
    """
    if len(name) > _MAX_NAME_LENGTH or "-" in name:
        return name
    return to_snake(name)


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
