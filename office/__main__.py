"""`python -m office` runs the `leakwatch` CLI (same as the console script)."""

from office.cli import app

app(prog_name="leakwatch")
