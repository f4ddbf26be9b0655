"""JSON blueprints, one module per spec family; thin layers over the feature services."""
