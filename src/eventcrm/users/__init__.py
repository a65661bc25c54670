"""The contact CRM: people who host and attend events."""
