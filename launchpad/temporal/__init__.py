"""Everything that talks to Temporal: connections, workflows, runners, workers."""
