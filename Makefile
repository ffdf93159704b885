# Convenience targets; each delegates to tasks.py, which needs only Python and pip.
PYTHON ?= python3

.PHONY: run test lint lock
run:
	$(PYTHON) tasks.py run $(ARGS)
test:
	$(PYTHON) tasks.py test $(ARGS)
lint:
	$(PYTHON) tasks.py lint
lock:
	$(PYTHON) tasks.py lock
