"""The browser layer: access rules, HTMX, forms, headers, assets, language, cookie session, error pages."""
