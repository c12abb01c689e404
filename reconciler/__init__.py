"""reconciler: a declarative, GitOps-style reconciler for CloudWatch Logs vended-log delivery."""

__version__ = "0.1.0"
