"""Run the command line with `python -m nextbest`."""

from nextbest.cli.main import main

main()
