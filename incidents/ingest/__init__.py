"""Ingest of affected customers: CSV or JSON from the admin, the API or a command (see FORMAT.md)."""
