"""Documents (spec 001): files a tenant uploads for retrieval; stored under generated names, typed by content."""
