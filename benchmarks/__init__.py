"""Benchmarks of the pipeline: scripts that print figures next to a raw baseline.

Each one starts a stack of its own on free ports and in a private folder, so it
never touches services on the default ports, and writes its figures to
bench-results/<name>.json. The latest figures, with the date, the machine and
the commands, are in the "Performance" section of the README.
"""
