"""Machine credentials: service, widget, usage and personal tokens (DESIGN.md ApiToken)."""
