"""Event categories."""
