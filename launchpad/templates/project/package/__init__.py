"""@@name@@: a launchpad project."""
