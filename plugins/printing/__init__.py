"""Large-format printing: a Kartoteka plugin."""
