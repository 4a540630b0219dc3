"""How messages reach customers: the pluggable SMS backends (email goes through Django's own)."""
