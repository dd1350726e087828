# The README's two commands. Both install missing Debian packages first.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: setup build demo test test-fuzz test-asan clean

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release > /dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(BUILD)/bin/peft demo

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The short fuzz pass CI runs (docs/fuzzing.md); fuzz/run.sh runs longer campaigns.
test-fuzz: setup
	@bash scripts/test-fuzz.sh $(BUILD)-fuzz

# The whole suite built with AddressSanitizer + UBSan (gcc), in $(BUILD)-asan.
# Leak checking stays on.
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizers/lsan_mpi.supp
test-asan: setup
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
	  -DPEFT_SANITIZE=ON > /dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@cd $(BUILD)-asan && $(ASAN_ENV) ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)
