"""/api/v1/workspaces and /api/v1/projects/{project_id}/workspaces: working copies, drift."""
