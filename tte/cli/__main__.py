"""`python -m tte.cli`: the same entry point as the `tte` command."""

from tte.cli import main

main()
