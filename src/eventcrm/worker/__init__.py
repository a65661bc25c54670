"""The sending worker: the deliveries table is its queue."""
