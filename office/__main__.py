"""`python -m office` runs the `leakwatch` CLI (same as the console script)."""

from office.cli import main

main()
