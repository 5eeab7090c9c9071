# Reelhouse developer commands. A newcomer needs two: `make demo` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
USER_ID := $(if $(filter command line,$(origin USER)),$(USER),demo-user)

.PHONY: setup infra web up down demo token test test-web test-unit test-service test-contract test-e2e drill bench bench-cli bench-restart bench-long bench-observability bench-live bench-chat bench-web schemas lint clean

setup:  ## install system packages (ffmpeg, nginx + njs/rtmp) and the Python workspace
	@bash deploy/local/setup.sh

infra:  ## make sure PostgreSQL and RabbitMQ are up
	@bash deploy/local/ensure-infra.sh

web:  ## build the web app into frontend/dist (the edge serves it at /); skipped without Node.js
	@if command -v npm >/dev/null 2>&1; then cd frontend && npm run -s build >/dev/null && echo "web: built frontend/dist"; \
	else echo "web: Node.js not found, the edge serves no web app (make setup installs it)"; fi

up: setup infra web  ## run the whole stack in the foreground; prints one "ready" line when every process answers (Ctrl-C stops it)
	$(PY) deploy/local/stack.py up

down:  ## stop the stack started by `make up` or `make demo` (data is kept)
	@$(PY) deploy/local/stack.py down

demo: setup infra web  ## start the stack in the background (or reuse it), upload the bundled clip, wait for READY, check playback; the stack keeps running
	$(PY) deploy/local/demo.py

token:  ## print only a dev JWT: make -s token USER=<id>
	@$(PY) -m reelhouse.platform.auth $(USER_ID)

test: setup infra web  ## all tiers: unit (Python and the web app's Vitest), service, contract, e2e (browser included)
	cd frontend && npm test --silent
	$(PY) -m pytest -q -p no:cacheprovider

test-web: setup  ## the web app's type check and Vitest unit tests
	cd frontend && npx tsc --noEmit && npm test --silent

test-unit: setup
	$(PY) -m pytest -q -m unit

test-service: setup infra
	$(PY) -m pytest -q -m service

test-contract: setup
	$(PY) -m pytest -q -m contract

test-e2e: setup infra
	$(PY) -m pytest -q -m e2e

drill: setup infra  ## fault drills: broker restart (private node), database outage, reordered events
	$(PY) -m pytest -q -m drill

bench: setup infra  ## speed figures and ratios (not a test); ends with the 10-minute long-source line
	$(PY) bench/transcode_bench.py
	$(PY) bench/observability_bench.py
	$(PY) bench/cli_upload_bench.py
	$(PY) bench/stack_restart_bench.py
	$(PY) bench/long_source_bench.py

bench-observability: setup infra  ## what tracing costs: READY time and API latency with tracing on vs off
	$(PY) bench/observability_bench.py

bench-restart: setup infra  ## how long the local stack takes to be ready: first start, restart with data kept
	$(PY) bench/stack_restart_bench.py

bench-cli: setup infra  ## the reelhouse CLI's upload throughput vs boto3 multipart to the same store
	$(PY) bench/cli_upload_bench.py

bench-long: setup infra  ## only the long-source line: 10 min of 1080p to READY, peak RSS, progress
	$(PY) bench/long_source_bench.py

bench-live: setup infra  ## live ingest latency figures
	$(PY) bench/live_bench.py

bench-chat: setup infra  ## chat memory per connection and delivery throughput/latency
	$(PY) bench/chat_bench.py

bench-web: setup infra  ## web app: initial JS (gzip), first frame in Chromium, upload page vs API client
	$(PY) bench/web_bench.py

schemas:  ## regenerate the committed event JSON Schemas, AsyncAPI document and the merged OpenAPI document
	$(PY) -m reelhouse.contracts.generate
	$(PY) tools/openapi.py

lint:
	$(PY) -m ruff check .

clean:  ## stop the stack and wipe its data (object store files, databases, queues, logs)
	@if [ -x $(PY) ]; then $(PY) deploy/local/stack.py clean; else rm -rf .run && echo "stack: removed .run"; fi
	@rm -rf .pytest_cache
