"""`make chaos`: zero lost alerts under kills and faults (see orchestrator.py).

By job: `config` (the run's settings and poison), `orchestrator` (the stack, the feeder, the
killer, the wait), `worker` (one Lambda-like container), `journal` (what workers record from the
product's events), `report` (the count and the verdict).
"""
