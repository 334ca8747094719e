"""HTTP: the JSON API, pages and the app factory."""
