"""Agent work items (spec 002): tasks, their logs, metrics and errors, and auto-fix lineage."""
