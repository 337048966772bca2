# Apify Run Notifier - developer entry points. Quick start: `make demo`, then `make test`.
PYTHON ?= python3
# pyenv's Python 3.x, else python3.x on PATH: $(call python_for,3.13)
python_for = $(firstword $(wildcard $(HOME)/.pyenv/versions/$(1).*/bin/python$(1)) $(shell command -v python$(1)))
PY313 ?= $(call python_for,3.13)
VENV := .venv
SAM_VENV := .venv-sam
SMOKE_VENV := .venv-smoke
CHECKOV_VENV := .venv-checkov
export SAM_CLI_TELEMETRY := 0
# Tools and scripts run as modules (python -m ...) with the layer importable as Lambda has it.
export PYTHONPATH := $(CURDIR)/layers/run_notifier:$(CURDIR)
STACK ?= apify-run-notifier
# Tests run on this many processes (pytest-xdist): most of them wait on local servers, not the CPU.
PYTEST_WORKERS ?= 2

.PHONY: envs demo test test-py313 test-py312 lint validate build smoke-env smoke bench bench-scale bench-incidents health-eval chaos soak enroll enqueue mute redrive invoke report ci clean

# The demo's dependencies first (~150 MB), then what tests and the benchmark add (~390 MB more).
$(VENV)/.demo-installed: requirements-demo.txt
	@echo "Installing the demo's dependencies into $(VENV) (first run only: about 150 MB, a minute or so) ..."
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --progress-bar off -r requirements-demo.txt | grep -E "^(Collecting|Successfully)" || true
	$(VENV)/bin/python -c "import moto, aws_lambda_powertools, standardwebhooks, yaml, flask_cors"
	touch $@

$(VENV)/.installed: requirements-dev.txt $(VENV)/.demo-installed
	@echo "Installing the test and benchmark tools into $(VENV) (first run only) ..."
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

$(SMOKE_VENV)/.installed:
	@test -n "$(PY313)" || { echo "Python 3.13 is needed for the smoke test (pyenv install 3.13)"; exit 1; }
	$(PY313) -m venv $(SMOKE_VENV)
	$(SMOKE_VENV)/bin/pip install --quiet awslambdaric==4.2.2 boto3==1.44.8
	touch $@

## Quick start 1: the whole pipeline on 127.0.0.1 (set APIFY_TOKEN and RUN_IDS to watch real runs; DEMO_ARGS=--verbose prints every event).
demo: $(VENV)/.demo-installed
	$(VENV)/bin/python -m localdev.demo $(DEMO_ARGS)

## Quick start 2: lint and the whole test suite.
test: $(VENV)/.installed lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy layers/run_notifier/run_notifier functions localdev scripts

validate: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1
	$(VENV)/bin/cfn-lint template.yaml
	@# Offline: no download from Prisma Cloud; every skipped finding is justified in the resource's Metadata.
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

build: $(SAM_VENV)/.installed
	@test -n "$(PY313)" || { echo "Python 3.13 is needed on PATH for sam build (python3.13 runtime)"; exit 1; }
	PATH="$(dir $(PY313)):$$PATH" $(SAM_VENV)/bin/sam build --region us-east-1

# .venv-3.12, .venv-3.13: the dev requirements on pyenv's (or PATH's) Python 3.x.
.venv-3.%/.installed: requirements-dev.txt
	@py="$(call python_for,3.$*)"; \
	test -n "$$py" || { echo "Python 3.$* is needed (pyenv install 3.$*)"; exit 1; }; \
	"$$py" -m venv .venv-3.$* && .venv-3.$*/bin/pip install --quiet -r requirements-dev.txt
	touch $@

## Every environment CI needs, installed side by side (on a fresh machine this is most of CI's time).
envs:
	$(MAKE) -j4 $(VENV)/.installed .venv-3.13/.installed .venv-3.12/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(SMOKE_VENV)/.installed

## Unit and contract tests on Python 3.13 (Lambda's runtime) and 3.12; `make test` runs the machine's python3.
test-py313: .venv-3.13/.installed
	.venv-3.13/bin/pytest -n $(PYTEST_WORKERS) tests/unit tests/contract

test-py312: .venv-3.12/.installed
	.venv-3.12/bin/pytest -n $(PYTEST_WORKERS) tests/unit tests/contract

smoke-env: $(SMOKE_VENV)/.installed

## The built artifact under the real runtime interface client.
smoke: $(VENV)/.installed $(SMOKE_VENV)/.installed
	REQUIRE_BUILT_ARTIFACT=1 $(VENV)/bin/pytest tests/e2e/test_built_artifact.py

bench: $(VENV)/.installed
	$(VENV)/bin/python -m scripts.bench

## A burst through the local pipeline (2,000 runs ending within 10 s), then a fleet at 10,000 and 100,000 runs a minute on a virtual clock: writes docs/scale.md. make bench-scale [SCALE_ARGS="--runs 500"]
bench-scale: $(VENV)/.installed
	$(VENV)/bin/python -m scripts.bench.scale $(SCALE_ARGS)

## A fleet failing at once in incident mode, through the local pipeline: make bench-incidents [INCIDENT_BENCH_ARGS="--runs 1000 --drain"]
bench-incidents: $(VENV)/.installed
	$(VENV)/bin/python -m localdev.incident_bench $(INCIDENT_BENCH_ARGS)

## Health checks judged on the shipped fixture (5 Actors x 100 runs): recall, false WARNs, the level shift
health-eval: $(VENV)/.installed
	$(VENV)/bin/python -m localdev.health_eval

## Zero lost alerts under faults and kills: make chaos CHAOS_ARGS="--runs 200 --workers 4 --kill-every 4"
chaos: $(VENV)/.installed
	$(VENV)/bin/python -m localdev.chaos $(CHAOS_ARGS)

## Half an hour of steady load, every way in, push on; leaks per worker: make soak SOAK_ARGS="--minutes 30 --rate 5"
soak: $(VENV)/.installed
	$(VENV)/bin/python -m localdev.soak $(SOAK_ARGS)

## Apify webhooks for your Actors/tasks -> the intake: make enroll STACK=apify-run-notifier ENROLL_ARGS="--actor ID"
enroll: $(VENV)/.installed
	$(VENV)/bin/python -m scripts.enroll --stack-name $(STACK) $(ENROLL_ARGS)

## What the fleet did and cost: make report [SINCE=7d] [STACK=... or REPORT_ARGS="--table-name ..."] [REPORT_ARGS="--actor ID --format csv --plot report.png"]
report: $(VENV)/.installed
	$(VENV)/bin/python -m scripts.report --since $(or $(SINCE),7d) $(if $(findstring --table-name,$(REPORT_ARGS)),,$(if $(STACK),--stack-name $(STACK))) $(REPORT_ARGS)

## Put run IDs on a deployed queue: make enqueue STACK=apify-run-notifier RUN_IDS="id1 id2"
enqueue: $(VENV)/.installed
	$(VENV)/bin/python -m scripts.enqueue --stack-name $(STACK) $(RUN_IDS)

## Mute an Actor's or task's chat alerts: make mute ACTOR=janedoe~web-scraper FOR=2h REASON="..." [TASK=...] [MUTE_ARGS=--list|--unmute]
mute: $(VENV)/.installed
	$(VENV)/bin/python -m scripts.mute --stack-name $(STACK) $(if $(ACTOR),--actor "$(ACTOR)") $(if $(TASK),--task "$(TASK)") $(if $(FOR),--for "$(FOR)") $(if $(REASON),--reason "$(REASON)") $(MUTE_ARGS)

## A function on an event file, no Docker: make invoke EVENT=events/sqs_run_id.json [FUNCTION=...] [INVOKE_ARGS="--real --env-vars my-env.json"]
EVENT ?= events/sqs_run_id.json
FUNCTION ?= RunWatcherFunction
invoke: $(VENV)/.installed
	$(VENV)/bin/python -m localdev.invoke $(EVENT) --function $(FUNCTION) $(INVOKE_ARGS)

## The DLQ back to the run queue (after fixing the cause): make redrive STACK=apify-run-notifier [REDRIVE_ARGS=...]
redrive: $(VENV)/.installed
	$(VENV)/bin/python -m scripts.redrive --stack-name $(STACK) $(REDRIVE_ARGS)

ci: test test-py313 test-py312 validate build smoke

clean:
	rm -rf .aws-sam $(VENV) $(SAM_VENV) $(SMOKE_VENV) $(CHECKOV_VENV) .venv-3.12 .venv-3.13 .venv-313
