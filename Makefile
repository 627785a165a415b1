# Haven's commands. The README names `make run` and `make test`; the rest
# serve developers and CI. Every target installs what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_OTHER_SECONDS ?= 5
MESON_SETUP = meson setup --reconfigure

.PHONY: all deps build run boot test asan valgrind bench fuzz mutate clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	@scripts/install-deps
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The main job: start the system in the foreground (Ctrl-C stops it).
run: build
	@scripts/run-system $(BUILD)

# SystemServer --init as PID 1 of fresh namespaces, a shell inside (root).
boot: build
	@scripts/boot $(BUILD)

test: build
	@scripts/run-tests $(BUILD)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		scripts/run-tests $(ASAN_BUILD)

# The suite's C tests under valgrind (leaks are errors).
valgrind: build
	@scripts/run-tests $(BUILD) --suite valgrind-safe \
		--wrapper 'valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --trace-children=no'

bench: build
	@scripts/run-bench $(BUILD)

# libFuzzer targets: the IPC runtime's share FUZZ_SECONDS, the others
# FUZZ_OTHER_SECONDS each.
fuzz: deps
	@[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) \
		-Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
	ninja -C $(FUZZ_BUILD)
	@scripts/run-fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_OTHER_SECONDS)

# Mutation testing: every planted bug in tests/mutations must be caught
# (MUTATE_ARGS=--quick: the CI subset; or patch names).
mutate: deps
	@scripts/mutate $(MUTATE_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) .mutate
