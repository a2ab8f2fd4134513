"""Handles' X credentials stored encrypted in the database, and their refresh."""
