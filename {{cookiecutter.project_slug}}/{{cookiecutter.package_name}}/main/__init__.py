"""Public pages, the dashboard and the health check."""
