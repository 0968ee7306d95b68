"""launchpad: declarative, GitOps front end for Temporal."""

__version__ = "0.1.0"
