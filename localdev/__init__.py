"""Local stand-ins for the outside world: Apify, Slack/webhook receivers, AWS via moto.

Used by the tests, `make demo` and `make bench`. Everything listens on 127.0.0.1 only.
"""
