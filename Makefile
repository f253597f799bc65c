# innerspace: `make demo` sets up and runs the demo; `make test` sets up and runs the tests.
.PHONY: setup demo test stop lint bench clean

setup:  ## Python env, Docker engine, base image (idempotent)
	@bash scripts/setup.sh

demo: setup  ## start the service, build the example apps, run jobs
	@bash scripts/demo.sh

test: setup  ## lint and type checks, then the whole test suite (real Docker, PostgreSQL)
	@$(MAKE) --no-print-directory lint
	@bash scripts/setup-postgres.sh
	@echo "==> running the tests"
	@.venv/bin/python -m pytest

stop:  ## stop the demo service; remove what stopped innerspace services left on a swarm
	@bash scripts/stop.sh

lint:  ## ruff, and mypy --strict over src/innerspace and tests (settings in pyproject.toml)
	@echo "==> ruff"
	@.venv/bin/ruff check src tests benchmarks examples scripts
	@echo "==> mypy --strict"
	@.venv/bin/mypy --strict

bench: setup  ## the benchmarks of docs/benchmarks.md (installs wrk, the load generator)
	@command -v wrk >/dev/null || { echo "==> apt-get install wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	@.venv/bin/python benchmarks/run_all.py

clean: stop
	rm -rf .run results
