# Convenience targets; each delegates to tasks.py, which needs only Python and pip.
PYTHON ?= python3

.PHONY: run test lint bench lock
run:
	$(PYTHON) tasks.py run $(ARGS)
test:
	$(PYTHON) tasks.py test $(ARGS)
lint:
	$(PYTHON) tasks.py lint
bench:
	$(PYTHON) tasks.py bench
lock:
	$(PYTHON) tasks.py lock
