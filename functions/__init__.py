"""The HTTP edge: FastAPI app, routes, and the Lambda handlers."""
