"""Dashboard app, read-only over the published warehouse (lands with the dashboard issue)."""
