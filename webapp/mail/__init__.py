"""Outgoing e-mail: every message is a row (the outbox), sent over SMTP by a background job."""
