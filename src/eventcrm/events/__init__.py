"""Events: scheduling, capacity, status and soft deletion."""
