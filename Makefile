# Convenience targets; each delegates to tasks.py, which needs only Python and pip.
PYTHON ?= python3

.PHONY: run test lint bench package lock
run:
	$(PYTHON) tasks.py run $(ARGS)
test:
	$(PYTHON) tasks.py test $(ARGS)
lint:
	$(PYTHON) tasks.py lint
bench:
	$(PYTHON) tasks.py bench
package:
	$(PYTHON) tasks.py package
lock:
	$(PYTHON) tasks.py lock
