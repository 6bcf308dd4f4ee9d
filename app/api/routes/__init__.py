"""Routers, one per resource: thin (parse, call a service, return a public model)."""
