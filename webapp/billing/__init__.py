"""Plans and payment (spec 001 §3.7): Stripe Checkout for upgrades, Stripe's webhooks for the result."""
