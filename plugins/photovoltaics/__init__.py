"""Photovoltaics: a Kartoteka plugin."""
