# Two commands do all set-up by themselves: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deepfit-installed
FMNIST := /usr/share/datasets/fashion-mnist

.PHONY: demo test lint docs data install clean

demo: $(STAMP) data
	$(VENV)/bin/deepfit train

test: $(STAMP) data
	$(PY) -m pytest
	$(VENV)/bin/ruff check src tests benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

install: $(STAMP)

# The documentation site (mkdocs-material, the API reference from the docstrings) into site/; --strict makes a
# broken link or a docstring mkdocstrings cannot read an error.
# The chapter's notebooks (notebooks/*.md, jupytext Markdown) are executed at their small setting into
# docs/notebooks/*.ipynb, which mkdocs-jupyter renders with their outputs; a cell that raises fails the build.
DOCS_STAMP := $(VENV)/.deepfit-docs-installed
NOTEBOOKS := $(patsubst notebooks/%.md,docs/notebooks/%.ipynb,$(wildcard notebooks/[0-9][0-9]_*.md))
docs: $(DOCS_STAMP) $(NOTEBOOKS)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

# `make test` leaves the notebooks it executed there (tests/test_notebooks.py), so CI runs each once.
docs/notebooks/%.ipynb: notebooks/%.md | $(DOCS_STAMP)
	@mkdir -p docs/notebooks
	OMP_NUM_THREADS=1 $(PY) -m jupytext --to ipynb --execute --output $@.tmp.ipynb $< \
		&& mv $@.tmp.ipynb $@ || (rm -f $@.tmp.ipynb; exit 1)

$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[docs]'
	touch $(DOCS_STAMP)

# torch==2.13.0 is the local CPU wheel on these machines; the package itself accepts a range.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# As root with apt, install Debian's dataset-fashion-mnist; otherwise deepfit downloads on first use.
data:
	@if [ -f $(FMNIST)/train-images-idx3-ubyte.gz ] || [ -f $(FMNIST)/train-images-idx3-ubyte ]; then \
		echo "Fashion-MNIST: $(FMNIST)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) \
		|| echo "apt could not install dataset-fashion-mnist; deepfit will download Fashion-MNIST on first use"; \
	else \
		echo "not root or no apt: deepfit will download Fashion-MNIST to ~/.cache/deepfit on first use"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site docs/notebooks
