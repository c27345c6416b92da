"""Grants: a Kartoteka plugin."""
