"""Command-line interface: thin argument parsing over the public API."""
