"""JWT sign-in for API clients (specs 001, 002, 004): short access tokens, rotated refresh tokens."""
