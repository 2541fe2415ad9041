"""The node's counter API (JSON over HTTP, /api/v1): one module per job, wired by routes.setup_api."""
