"""Validated models of the task and worker YAML formats."""
