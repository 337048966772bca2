"""The decisions: what to do with a run, whom to tell and when. No I/O happens here.

Modules in this package import only each other and the standard library (a test enforces
it): every effect goes through a small Protocol in `ports.py`, implemented in
`run_notifier.adapters` and `run_notifier.destinations`, and composed in `run_notifier.wiring`.
"""
