"""Long-running reliability checks: the chaos soak and the crash-and-restart run."""
