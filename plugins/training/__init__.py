"""Training: a Kartoteka plugin."""
