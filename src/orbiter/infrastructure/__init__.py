"""Infrastructure: credentials, providers, detection and resources, and the deploy pipeline
(`deploy/`)."""
