"""The database layer: the SQLAlchemy instance, column types, SQLite pragmas, prepared
statements on the raw connection, the background writer, and encryption of secrets at rest."""
