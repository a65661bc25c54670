"""Transactional email: confirmations, waitlist promotions, event changes and cancellations."""
