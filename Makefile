# Riposte: the commands people type. The build itself is meson + ninja; this
# file makes sure the Debian packages are there (scripts/deps.sh) and drives it.
#
#   make          build build/riposte
#   make check    normal and ASan+UBSan builds, every test, each fuzz target for
#                 FUZZ_CHECK_SECONDS; ends "N passed, N failed"
#   make run      the lab and the daemon with the three playbooks (scripts/run.sh)
#   make bench    the benchmarks (bench/RESULTS.md)
#   make fuzz     run each fuzz target with libFuzzer for FUZZ_SECONDS
#   make format   clang-format the tree
#   make valgrind the unit tests under valgrind

BUILD      ?= build
ASAN_BUILD ?= build-asan
DEPS_STAMP := $(BUILD)/.deps-ok
# make check runs each fuzz target briefly; make fuzz for longer (FUZZ_SECONDS)
FUZZ_CHECK_SECONDS ?= 5

.PHONY: all deps check run bench fuzz format format-check valgrind clean

all: $(BUILD)/riposte

# deps.sh is cheap when everything is installed, but the stamp keeps `make`
# quiet; it is redone whenever the script changes.
$(DEPS_STAMP): scripts/deps.sh
	@bash scripts/deps.sh
	@mkdir -p $(BUILD) && touch $@

deps: $(DEPS_STAMP)

$(BUILD)/build.ninja: $(DEPS_STAMP) meson.build
	@if [ -f $(BUILD)/build.ninja ]; then meson setup --reconfigure $(BUILD) >/dev/null; \
	 else meson setup $(BUILD) >/dev/null; fi

$(BUILD)/riposte: $(BUILD)/build.ninja FORCE
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja: $(DEPS_STAMP) meson.build
	@if [ -f $(ASAN_BUILD)/build.ninja ]; then meson setup --reconfigure $(ASAN_BUILD) >/dev/null; \
	 else meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false \
	      -Dbuildtype=debug >/dev/null; fi

FORCE:

check: $(BUILD)/riposte $(ASAN_BUILD)/build.ninja
	@ninja -C $(ASAN_BUILD) >/dev/null || ninja -C $(ASAN_BUILD)
	@bash scripts/servers.sh start
	@python3 scripts/runtests.py --fuzz $(FUZZ_CHECK_SECONDS) $(BUILD) $(ASAN_BUILD)

run: $(BUILD)/riposte
	@bash scripts/run.sh $(BUILD)

bench: $(BUILD)/riposte
	@bash bench/run.sh $(BUILD)
	@bash bench/sources.sh $(BUILD)
	@bash bench/engine.sh $(BUILD)

fuzz: $(DEPS_STAMP)
	@bash scripts/fuzz.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

valgrind: $(BUILD)/riposte
	@python3 scripts/runtests.py --valgrind $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
