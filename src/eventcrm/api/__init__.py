"""The HTTP layer's shared parts: dependencies, the error mapping, middleware, health."""
