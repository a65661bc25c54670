"""eventcrm: contacts, events with capacity and waitlists, and email to segments."""

__version__ = "0.1.0"
