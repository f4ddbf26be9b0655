"""Instance administration pages: users and the audit log."""
