"""The machine-API platform: one blueprint factory that gives every JSON family authentication,
rate limits, audit, metrics, access log, its own error envelope and OpenAPI declarations."""
