"""Full-text search across what the caller can see (`GET /api/v1/search`)."""
