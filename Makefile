# resnet-lab: every command sets up what it needs first, in a virtual environment at .venv.
#   make lab         install the course (learners: no test tools), then start JupyterLab on notebooks/
#   make test        install the course and its test tools, then run the unit tests and the notebooks (nbval)
#   make test-soak   the slow soak checks that `make test` leaves out (pytest -m soak)
#   make notebooks   re-execute every notebook on the cpu profile and save it with outputs and static images
#   make benchmark   measure training throughput (see benchmarks/)
#   make lint        ruff format --check and ruff check (notebooks included), as .ci/run does before the tests

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The PyTorch pair this course is tested with (binder/requirements.txt pins the same). pyproject.toml keeps
# wide ranges (Colab, Binder); override for other machines, e.g. make lab TORCH="torch torchvision".
TORCH ?= torch==2.14.1 torchvision==0.29.1
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
NBVAL_FLAGS := --nbval --nbval-current-env --nbval-cell-timeout=300
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB_ARGS ?=

.PHONY: install install-test lab lint test test-soak notebooks benchmark graphviz browser clean

install: $(VENV)/.installed-lab graphviz
install-test: $(VENV)/.installed-test graphviz

# The browser tests and the static images of `make notebooks` use Debian's Chromium (never a downloaded one).
browser:
	@bash tools/ensure_system_package.sh chromium chromium "the browser tests will be skipped."

# Each re-runs only when pyproject.toml, this file or the torch installer changed since it last succeeded.
# Learners get CPU-only PyTorch wheels on a Linux machine without an NVIDIA GPU (tools/install_torch.py).
$(VENV)/.installed-lab: pyproject.toml Makefile tools/install_torch.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) tools/install_torch.py $(TORCH)
	$(PY) -m pip install --quiet -e ".[lab]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-lab
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# torchviz needs Graphviz's `dot` program to draw graphs; the course still runs without it.
graphviz:
	@bash tools/ensure_system_package.sh dot graphviz "torchviz graphs will show a text fallback."

lab: install
	cd notebooks && ../$(VENV)/bin/jupyter lab $(ROOT_FLAG) $(LAB_ARGS)

lint: install-test
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

test: install-test browser
	$(PY) -m pytest tests $(if $(NOTEBOOKS),$(NBVAL_FLAGS) $(NOTEBOOKS))

test-soak: install-test browser
	$(PY) -m pytest -m soak tests

notebooks: install-test browser
	$(PY) tools/regenerate_notebooks.py --profile cpu $(NOTEBOOKS)

benchmark: install-test
	$(PY) benchmarks/train_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
