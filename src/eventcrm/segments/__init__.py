"""Segments: saved, named filters over contacts, used as campaign audiences."""
