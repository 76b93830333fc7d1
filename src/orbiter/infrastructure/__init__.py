"""Infrastructure: deploy providers, credentials, provisioned resources, and detection.

* `providers/`: the provider interface (`base.InfraProvider`) and the registry; `local` (built
  in: SQLite files, Redis databases) and `github` (a token).
* `credentials/`: a user's token per provider, validated, encrypted, never returned;
  `credential_token` / `credential_for` for other domains.
* `resources/`: a project's provisioned resources; `provision_resource` for the deploy pipeline.
* `detect/`: what a project needs and how to run it, read from its files (`detect_project`
  is pure over `{path: bytes}`).
* `deploy/`: the deploy pipeline (its own package).
"""
