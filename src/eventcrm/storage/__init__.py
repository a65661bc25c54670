"""Storage ports and their adapters (one sub-package per backend)."""
