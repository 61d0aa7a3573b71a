# The course's two commands:
#   make lab    install what the course needs into .venv and open JupyterLab
#   make test   install everything, then run every test (what CI runs); the lessons'
#               claims cells run strictly there (COURSE_STRICT_CLAIMS=1: a claim that fails is an error)
#   make book   build the course's static site into build/book/html (book/build.py); its last
#               line is the path of the site's index.html
#
# Variables you may set:  PYTHON (python3.10+), PORT (8888), IP (127.0.0.1),
# TOKEN (Jupyter's access token; default: the JUPYTER_TOKEN env variable, else a
# random one Jupyter prints), OPEN_BROWSER (True), PYTEST_ARGS.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
IP     ?= 127.0.0.1
OPEN_BROWSER ?= True
TOKEN  ?= $(JUPYTER_TOKEN)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test install browser-deps exercises lint bench clean book

install: $(STAMP)

# Re-installs only when the dependency files change, so `make lab` is quick to re-run.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "loss-course needs Python 3.10 or newer; set PYTHON=python3.x"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,book]'
	@touch $(STAMP)

lab: $(STAMP)
	@echo "Opening the course at http://$(IP):$(PORT)/lab/tree/notebooks/index.ipynb"
	@echo "(JupyterLab prints the full URL with its token below; Ctrl-C twice stops it.)"
	JUPYTER_TOKEN='$(TOKEN)' $(VENV)/bin/jupyter lab $(ROOT_FLAG) \
	  --ip=$(IP) --port=$(PORT) --ServerApp.port_retries=0 \
	  --ServerApp.open_browser=$(OPEN_BROWSER) \
	  --ServerApp.root_dir="$(CURDIR)" \
	  --LabApp.default_url=/lab/tree/notebooks/index.ipynb

# Headless Chromium for the browser tests: Debian's package (a test tool's own
# browser download does not work offline). Installed when missing and root.
browser-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)); \
	else \
	  echo "NOTE: the browser tests need Chromium: sudo apt-get install chromium (they will fail without it)"; \
	fi

test: $(STAMP) browser-deps
	$(VENV)/bin/ruff check course tests benchmarks book
	$(PY) -m course.make_exercises --check
	$(PY) book/launch.py --check
	COURSE_STRICT_CLAIMS=1 $(PY) -m pytest -n 2 --dist loadfile --nbval-lax --nbval-current-env tests notebooks solutions $(PYTEST_ARGS)

exercises: $(STAMP)
	$(PY) -m course.make_exercises

lint: $(STAMP)
	$(VENV)/bin/ruff check course tests benchmarks book

# Executes each lesson once (cached in build/book/executed), then renders the site with Sphinx.
book: $(STAMP)
	@$(PY) book/build.py

bench: $(STAMP)
	$(PY) benchmarks/bench_losses.py

clean:
	rm -rf $(VENV) build *.egg-info artifacts
