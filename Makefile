# The course's two commands:
#   make lab    install what the course needs into .venv and open JupyterLab on your
#               workspace (workspace/: copies of the lessons and exercises, made once and
#               never overwritten; the repository's notebooks stay as they are)
#   make test   install everything, then run every test (what CI runs); the lessons'
#               claims cells run strictly there (COURSE_STRICT_CLAIMS=1: a claim that fails is an error)
#   make book   build the course's static site into build/book/html (book/build.py); its last
#               line is the path of the site's index.html
#
# Other commands: make reset NB=notebooks/01_regression  (a fresh copy of one notebook
# in the workspace; yours goes to workspace/.backup/), make exercises, make bench.
#
# Variables you may set:  PYTHON (python3.10+), PORT (8888), IP (127.0.0.1),
# TOKEN (Jupyter's access token; default: the JUPYTER_TOKEN env variable, else a
# random one, printed in the URL), OPEN_BROWSER (True), WORKSPACE (workspace), PYTEST_ARGS.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8888
IP     ?= 127.0.0.1
OPEN_BROWSER ?= True
TOKEN  ?= $(JUPYTER_TOKEN)
WORKSPACE ?= workspace
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab reset test install browser-deps exercises lint bench clean book

install: $(STAMP)

# Re-installs only when the dependency files change, so `make lab` is quick to re-run.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "loss-course needs Python 3.10 or newer; set PYTHON=python3.x"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,book]'
	@touch $(STAMP)

# The token is chosen here (unless given) so that the first URL printed carries it.
# pre_save_hook: a saved explorer reopens as "run the cell to bring it back" instead of
# "Error displaying widget: model not found" (course/workspace.py).
lab: $(STAMP)
	@$(PY) -m course.workspace create "$(WORKSPACE)"
	@token='$(TOKEN)'; [ -n "$$token" ] || token=$$($(PY) -c 'import secrets; print(secrets.token_hex(24))'); \
	echo "Opening the course at http://$(IP):$(PORT)/lab/tree/notebooks/index.ipynb?token=$$token"; \
	echo "(open that address in your browser; Ctrl-C twice stops JupyterLab)"; \
	JUPYTER_TOKEN="$$token" exec $(VENV)/bin/jupyter lab $(ROOT_FLAG) \
	  --ip=$(IP) --port=$(PORT) --ServerApp.port_retries=0 \
	  --ServerApp.open_browser=$(OPEN_BROWSER) \
	  --ServerApp.root_dir="$(abspath $(WORKSPACE))" \
	  --ContentsManager.pre_save_hook=course.workspace.pre_save_hook \
	  --LabApp.default_url=/lab/tree/notebooks/index.ipynb

reset: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make reset NB=notebooks/01_regression (or exercises/01_regression_exercise)"; exit 2; }
	$(PY) -m course.workspace reset "$(NB)" --dir "$(WORKSPACE)"

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
	$(PY) -m course.notebook_format --check
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
