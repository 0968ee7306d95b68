"""Notifications: sync failures, degradations, recoveries, healed drift, prunes and failed deploys,
sent to the configured targets (Slack-compatible incoming webhooks, launchpad's own signed JSON,
or any service Apprise knows). Which transitions become events is decided by `reconciler.signals`.
"""
