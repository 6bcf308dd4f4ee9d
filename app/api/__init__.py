"""The HTTP API: one router per resource, and the dependencies they share."""
