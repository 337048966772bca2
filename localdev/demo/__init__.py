"""`make demo`: the whole pipeline on 127.0.0.1 with embedded defaults.

By job: `scenario` (the runs, routes and secrets), `ways_in` (an enrolled Actor's webhooks, `POST
/runs`, the sweep, a forged webhook), `console` (the product's events as readable lines, and the
final table), `main` (the local stack, the handler, the event source, the checks).
"""

from localdev.demo.scenario import SLACK_PATH, WEBHOOK_SECRET

__all__ = ["SLACK_PATH", "WEBHOOK_SECRET"]
