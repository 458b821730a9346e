# coffer — the two commands a new user needs:
#   make run   installs what is missing, builds Release, runs the server on 127.0.0.1:4600 (./data)
#   make test  installs what is missing, builds, runs unit tests (also under ASan+UBSan, with the
#              boto3 suite against a sanitized server) and the
#              end-to-end tests with the AWS CLI, boto3 and the AWS SDK for JavaScript
BUILD      ?= build
ASAN_BUILD ?= build-asan
LISTEN     ?= 127.0.0.1:4600
DATA_DIR   ?= ./data
JOBS       ?= 2

.PHONY: all deps build build-asan run test unit unit-asan e2e bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCOFFER_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

run: build
	@echo "Point the AWS CLI at coffer (root key generated on first start, see README):"
	@echo "  export AWS_CONFIG_FILE=$(DATA_DIR)/aws-config AWS_SHARED_CREDENTIALS_FILE=$(DATA_DIR)/root-credentials AWS_PROFILE=coffer"
	@echo "  aws secretsmanager list-secrets"
	@exec $(BUILD)/coffer server --listen $(LISTEN) --data-dir $(DATA_DIR)

# Unit tests built with ASan+UBSan. (`make test` also runs the boto3 suite against the sanitized
# server: e2e_boto3_sanitized, in the final CTest pass.)
unit-asan: build-asan
	@ctest --test-dir $(ASAN_BUILD) -L unit --output-on-failure -j$(JOBS)

# The layer check (scripts/check-layers.sh: includes follow docs/ARCHITECTURE.md's module table),
# the size check (scripts/check-size.py: files and functions a reader can hold) and their own
# tests, then everything registered with CTest, two at a time (each end-to-end suite has its own
# server on its own port and data directory, so suites run side by side), the boto3 suite against
# the sanitized server among them (a sanitizer report makes that server exit non-zero, which the
# suite checks on every stop).
test: build unit-asan
	@cmake -S . -B $(BUILD) -DCOFFER_SANITIZED_SERVER=$(abspath $(ASAN_BUILD))/coffer >/dev/null
	@scripts/check-layers.sh
	@python3 scripts/check-size.py
	@python3 -m unittest discover -s tests/scripts
	@ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

bench: build
	@bench/run.sh
	@bench/params.sh
	@bench/authz.sh
	@bench/secrets.sh
	@bench/audit.sh
	@bench/dashboard.sh
	@bench/backup.sh
	@bench/postgres.sh
	@bench/agent.sh

format:
	@find src bench fuzz -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
