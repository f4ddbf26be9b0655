"""People, their tenants and their linked GitHub/GitLab identities."""
