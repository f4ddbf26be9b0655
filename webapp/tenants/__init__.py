"""A tenant's own settings: its provider keys for answers (spec 001 §3.5), its widget and origins."""
