"""Conversations: RAG answers over a tenant's documents (spec 001), shared with the agent workspace."""
