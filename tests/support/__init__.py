"""Helpers shared by the tests: factories, assertions, fake servers and protocol clients."""
