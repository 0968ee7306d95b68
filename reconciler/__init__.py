"""The GitOps reconciler: git source → desired state → plan → apply."""
