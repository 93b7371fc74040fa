"""`python -m mlproj` is the `mlproj` command."""

from mlproj.cli.main import main

main()
