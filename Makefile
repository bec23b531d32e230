PY ?= .venv/bin/python

.PHONY: test lint fix container-test ci

# The README's test command.
test:
	$(PY) -m pytest -q

lint:
	$(PY) -m ruff check .
	$(PY) -m mypy

fix:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# Build the image with podman and smoke-test it (minutes; see ../shared/ops/container-check.md).
container-test:
	CFM_CONTAINER_TEST=1 $(PY) -m pytest -q -m container tests/test_service_files.py

# What CI runs, on a fresh Debian machine as root.
ci:
	bash .ci/run
