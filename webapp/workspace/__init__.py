"""The agent workspace (spec 004): sessions with a coding agent, their transcripts and search."""
