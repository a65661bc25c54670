"""Registrations: who is registered, waitlisted, hosting or owning which event."""
