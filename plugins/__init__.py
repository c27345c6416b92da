"""The built-in industry plugins, each loaded through its entry point like any other."""
