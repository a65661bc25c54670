"""Access control: who is calling (an Actor), with which role, and their credentials."""
