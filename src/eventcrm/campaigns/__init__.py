"""Campaigns: a message sent to an audience, with one delivery row per recipient."""
