"""The REST API: routes, their dependencies, error mapping and metrics."""
