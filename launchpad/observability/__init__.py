"""Signals out of launchpad: metrics (Prometheus, or CloudWatch EMF on Lambda) and structured logs.

Notifications live in `launchpad.notify`; what a sync or a deploy turns into is decided by
`reconciler.signals`. See docs/observability.md.
"""
