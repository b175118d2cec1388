# Two commands do everything on a fresh machine (README):
#   make reproduce   install, then run the whole chain on the embedded SynMELD corpus
#   make test        install, then run every test (notebook asserts + tests/)
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PRESET ?= default
# Nothing is downloaded at run time: a missing model fails at once with a message, instead of retrying a hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: install dlib-blas dlib-swap test test-slow reproduce readme docs clean-nbs bench

$(BIN)/.installed: setup.py settings.ini constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	$(BIN)/pip install -q -c constraints.txt torch torchvision torchaudio
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	# InceptionResnetV1 (the paper's frame features) without facenet-pytorch's pins (torch<2.3, numpy<2 would replace ours)
	$(BIN)/pip install -q --no-deps facenet-pytorch==2.6.0
	# a dlib built by `make dlib-blas` stays: `pip install -e` above put the dlib-bin wheel back over its files
	if ls $(DLIB_WHL) >/dev/null 2>&1; then $(MAKE) --no-print-directory dlib-swap; fi
	touch $@

install: $(BIN)/.installed

# Optional, and no longer needed for speed: stage 1 runs dlib's ResNet in NumPy (facialmmt.dlib_resnet), so a dlib
# built against BLAS only speeds up FaceAnalyzer(identity_engine="dlib"). dlib compiled here against OpenBLAS, in place
# of the dlib-bin wheel (built without BLAS): its own ResNet runs ~4x faster and stage 1 with it 1.3-1.7x
# (bench/README.md); on SynMELD the same stage-1 accuracy per split, 497 of 500 final sequences identical (measured). Needs cmake, a C++ compiler and OpenBLAS (Debian/Ubuntu:
# `apt-get install libopenblas-dev`); the compile takes ~15 min on 2 cores. The wheel is built for this machine's CPU
# (-march=native; without it dlib's HOG detector ran 2.7x slower) and kept in .whl/, so `make install` keeps using it;
# Back to dlib-bin: `rm .whl/dlib-*.whl; .venv/bin/pip uninstall -y dlib; .venv/bin/pip install --no-deps dlib-bin`.
DLIB_VERSION := 20.0.1
DLIB_WHL = .whl/dlib-$(DLIB_VERSION)-*.whl
dlib-blas: install
	@$(BIN)/python -c "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('openblas') else \
	  'OpenBLAS not found: install it (Debian/Ubuntu: apt-get install libopenblas-dev), then run make dlib-blas again')"
	ls $(DLIB_WHL) >/dev/null 2>&1 || CXXFLAGS="-O3 -march=native" CFLAGS="-O3 -march=native" \
	  $(BIN)/pip wheel --no-deps --no-binary dlib -w .whl "dlib==$(DLIB_VERSION)"
	$(MAKE) --no-print-directory dlib-swap

# both wheels own the same files (dlib/, _dlib_pybind11*.so): remove both, then install the built one
dlib-swap:
	$(BIN)/pip uninstall -q -y dlib-bin dlib
	$(BIN)/pip install -q --no-deps $(DLIB_WHL)
	@$(BIN)/python -c "import dlib; assert dlib.DLIB_USE_BLAS, 'the dlib in .whl/ was built without BLAS'; \
	  print(f'dlib {dlib.__version__}, BLAS: {dlib.DLIB_USE_BLAS}')"

test: install
	$(BIN)/nbdev_export
	@git diff --quiet -- facialmmt || { echo "facialmmt/ differs from the notebooks: edit nbs/, run nbdev_export, commit both"; git diff --stat -- facialmmt; exit 1; }
	$(BIN)/nbdev_test --n_workers 2 --do_print
	$(BIN)/python -m pytest tests -q -m "not slow"

# cells flagged slow (and the slow pytest marks) — longer, run by hand or where time allows
test-slow: install
	$(BIN)/nbdev_test --n_workers 1 --flags slow --do_print
	$(BIN)/python -m pytest tests -q -m slow

reproduce: install
	$(BIN)/facialmmt reproduce --preset $(PRESET)

# the same renders the chain and tests/test_readme.py use: reports/README_results.md gathered from the committed
# tables, then the README from nbs/index.ipynb (executed, inputs hidden) and that summary
readme: install
	$(BIN)/python -c "from facialmmt.readme import write_results_summary; from facialmmt.reproduce import refresh_readme; \
	  write_results_summary('reports'); print(refresh_readme())"

# The documentation site in _docs/ (git-ignored): nbs/ with the outputs of the notebooks the last run published in
# reports/notebooks/ put in, and every other notebook executed as nbdev_test runs it (its slow cells shown, not run;
# 4.6 min in all on 2 cores, measured), so each stage's page shows its figures. DOCS_EXECUTE=0 skips that (those pages show code only).
# DOCS_ENGINE: auto (Quarto via nbdev_docs when `quarto` is installed, else nbconvert HTML), quarto (fail without it)
# or nbconvert. Quarto is not installed by `make install`: see setup.py's "docs" extra.
DOCS_ENGINE ?= auto
DOCS_EXECUTE ?= 1
docs: install
	$(BIN)/python -c "from facialmmt.reproduce import build_docs; print(build_docs(engine='$(DOCS_ENGINE)', execute=bool($(DOCS_EXECUTE))))"

bench: install
	for f in bench/bench_*.py; do $(BIN)/python $$f || exit 1; done
