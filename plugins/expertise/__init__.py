"""Expert opinions: a Kartoteka plugin."""
