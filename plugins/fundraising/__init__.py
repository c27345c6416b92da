"""Fundraising: a Kartoteka plugin."""
