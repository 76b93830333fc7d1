"""The deploy pipeline: a workspace's files detected, provisioned for, built and run, with a
status, a URL and logs (`AppDeployment`). README: Deploy."""
