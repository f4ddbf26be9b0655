"""Per-user LLM settings (spec 000) with an instance default inherited field by field."""
