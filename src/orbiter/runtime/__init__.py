"""The process's resources (built once from the settings) and the request dependencies that hand them out.

This is the composition root: the only place that chooses Redis or in-process, S3 or a local
directory. It sits above `core`, `models` and the adapters, below tenancy, auth and every domain.
"""
