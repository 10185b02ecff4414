"""Command-line edge of warden: one module per command."""
