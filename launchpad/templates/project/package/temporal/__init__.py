"""@@name@@'s Temporal code: activities, custom workflows and custom runners.

launchpad loads these files by path (launchpad_configs.yaml, watcher.modules).
"""
