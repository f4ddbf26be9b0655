"""Usage of billable calls: one UsageEvent per call, and each usage key's reviews per day (its quota)."""
