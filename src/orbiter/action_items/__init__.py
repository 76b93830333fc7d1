"""Action items: drift, analysis findings and failed deployments to act on."""
