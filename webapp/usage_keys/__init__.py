"""Usage keys for the code review API (spec 003): asked for by anyone, approved by an admin, revealed once."""
