"""/api/v1/snapshots and /api/v1/projects/{project_id}/snapshots: the snapshot DAG."""
