"""The notification templates shipped with the product.

Each can be overridden by saving an email template named
``notification:<kind>`` (e.g. ``notification:event_cancelled``); the stored
one is used from then on. Variables: ``user``, ``event`` (with ``startLocal``
and ``endLocal`` in the event's time zone) and, for ``event_updated``,
``changes`` (field -> ``{"old": ..., "new": ...}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class NotificationKind(StrEnum):
    REGISTRATION_CONFIRMED = "registration_confirmed"
    PROMOTED_FROM_WAITLIST = "promoted_from_waitlist"
    EVENT_UPDATED = "event_updated"
    EVENT_CANCELLED = "event_cancelled"

    @property
    def template_name(self) -> str:
        return f"notification:{self.value}"


@dataclass(frozen=True, slots=True)
class DefaultTemplate:
    subject: str
    html: str
    text: str


_WHEN_WHERE_HTML = """<p><strong>{{ event.title }}</strong><br>
{{ event.startLocal }}{% if event.venue %}<br>{{ event.venue }}{% endif %}</p>"""
_WHEN_WHERE_TEXT = """{{ event.title }}
{{ event.startLocal }}{% if event.venue %}
{{ event.venue }}{% endif %}"""

DEFAULTS: dict[NotificationKind, DefaultTemplate] = {
    NotificationKind.REGISTRATION_CONFIRMED: DefaultTemplate(
        subject="You're registered: {{ event.title }}",
        html="<p>Hi {{ user.firstName }},</p>\n<p>Your place is confirmed.</p>\n"
        + _WHEN_WHERE_HTML
        + "\n<p>See you there!</p>\n",
        text="Hi {{ user.firstName }},\n\nYour place is confirmed.\n\n"
        + _WHEN_WHERE_TEXT
        + "\n\nSee you there!\n",
    ),
    NotificationKind.PROMOTED_FROM_WAITLIST: DefaultTemplate(
        subject="A seat opened up: you're in for {{ event.title }}",
        html="<p>Hi {{ user.firstName }},</p>\n"
        "<p>Good news: a seat became free and you have moved from the waitlist to the "
        "attendee list.</p>\n" + _WHEN_WHERE_HTML + "\n",
        text="Hi {{ user.firstName }},\n\nGood news: a seat became free and you have moved "
        "from the waitlist to the attendee list.\n\n" + _WHEN_WHERE_TEXT + "\n",
    ),
    NotificationKind.EVENT_UPDATED: DefaultTemplate(
        subject="Changed: {{ event.title }}",
        html="<p>Hi {{ user.firstName }},</p>\n<p>Details of an event you signed up for "
        "have changed. It is now:</p>\n" + _WHEN_WHERE_HTML + "\n"
        "{% if changes.end_at %}<p>It now ends {{ event.endLocal }}.</p>{% endif %}\n",
        text="Hi {{ user.firstName }},\n\nDetails of an event you signed up for have changed. "
        "It is now:\n\n" + _WHEN_WHERE_TEXT + "\n"
        "{% if changes.end_at %}\nIt now ends {{ event.endLocal }}.\n{% endif %}",
    ),
    NotificationKind.EVENT_CANCELLED: DefaultTemplate(
        subject="Cancelled: {{ event.title }}",
        html="<p>Hi {{ user.firstName }},</p>\n<p>We're sorry: <strong>{{ event.title }}"
        "</strong>, planned for {{ event.startLocal }}, has been cancelled.</p>\n",
        text="Hi {{ user.firstName }},\n\nWe're sorry: {{ event.title }}, planned for "
        "{{ event.startLocal }}, has been cancelled.\n",
    ),
}
