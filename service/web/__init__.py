"""The node's web layer: app factory, app keys, middleware, health, OpenAPI, serving the UIs."""
