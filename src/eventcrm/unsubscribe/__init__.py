"""Unsubscribe links: signed tokens in every campaign email that set a contact's opt-out."""
