"""`make bench`: bimpe-tui against the official SDK and its own targets, one table.

Run ``python -m bench [--quick] [--runs N] [--json PATH] [--only SECTIONS]``. Every
measurement talks to a demo server running as a separate process on 127.0.0.1, and
every consumer runs in a process of its own, so CPU time and RSS are its alone.
"""
