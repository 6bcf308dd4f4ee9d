"""The edge: error handlers, middleware, request limits, the server protocol, the docs pages."""
