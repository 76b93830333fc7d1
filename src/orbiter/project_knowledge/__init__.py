"""A project's brief, next steps and decisions."""
