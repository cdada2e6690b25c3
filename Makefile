# resnet-lab: every command sets up what it needs first, in a virtual environment at .venv.
#   make lab         install what is missing, then start JupyterLab on notebooks/
#   make test        install what is missing, then run the unit tests and the notebooks (nbval)
#   make notebooks   re-execute every notebook on the cpu profile and save it with outputs
#   make benchmark   measure training throughput (see benchmarks/)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The PyTorch pair this course is tested with. pyproject.toml keeps wide ranges (Colab, Binder);
# override for other machines, e.g. make lab TORCH="torch torchvision".
TORCH ?= torch==2.14.1 torchvision==0.29.1
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-cell-timeout=300
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=

.PHONY: install lab test notebooks benchmark graphviz browser clean

install: $(VENV)/.installed graphviz

# The browser tests drive Debian's Chromium (never a downloaded browser); without it they skip.
browser:
	@bash tools/ensure_system_package.sh chromium chromium "the browser tests will be skipped."

# Re-runs only when pyproject.toml or this file changed since the last successful install.
$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# torchviz needs Graphviz's `dot` program to draw graphs; the course still runs without it.
graphviz:
	@bash tools/ensure_system_package.sh dot graphviz "torchviz graphs will show a text fallback."

lab: install
	cd notebooks && ../$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(LAB_ARGS)

test: install browser
	$(PY) -m pytest tests $(if $(NOTEBOOKS),$(NBVAL_FLAGS) $(NOTEBOOKS))

notebooks: install
	$(PY) tools/regenerate_notebooks.py --profile cpu $(NOTEBOOKS)

benchmark: install
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
