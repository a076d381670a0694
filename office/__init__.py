"""The operator-facing side: the `leakwatch` CLI, later the web app and the scheduler."""
