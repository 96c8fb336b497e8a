"""On-device decisioning: request context, rule compilation, allocation and responses."""
