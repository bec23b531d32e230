"""Web: HTTP requests go in; the JSON API, the dashboard's static files, probes and metrics come out."""
