# vstudio: build, test, install. See README.md.
#
#   make            build/libvstudio.so and build/vstudio
#   make test       install missing deps, build, run every test (C + busted + pytest)
#   make demo       install missing deps, build, render examples/plasma.lua
#   make check      the test suite under ASan+UBSan (build-asan/)
#   make tsan       the threaded specs under ThreadSanitizer (build-tsan/)
#   make valgrind   every example under valgrind: no errors, no leaks
#   make fuzz       libFuzzer targets (clang); scripts/fuzz runs them
#   make bench      benchmarks against ffmpeg and the seeds' Python way
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
# The Python package: where Debian's python3 looks for PREFIX=/usr (other
# prefixes print the PYTHONPATH to use).
PYDIR = $(PREFIX)/lib/python3/dist-packages
PYTHON ?= /usr/bin/python3
BUILD ?= build
CC ?= cc
PKGS := luajit libavformat libavcodec libswscale libswresample libavfilter libavutil libpng libturbojpeg \
	libdeflate sqlite3 libedit freetype2 harfbuzz fontconfig fribidi libass imagequant
# A missing package is named by the compile rules (pkgs), not here: this
# runs at parse time, before `make test` or `make demo` has installed
# anything, and their sub-make reads the Makefile again after deps.
PKG_MISSING := $(shell if command -v pkg-config >/dev/null; then \
	for p in $(PKGS); do pkg-config --exists $$p || echo $$p; done; else echo pkg-config; fi)
PKG_CFLAGS := $(if $(PKG_MISSING),,$(shell pkg-config --cflags $(PKGS)))
PKG_LIBS := $(if $(PKG_MISSING),,$(shell pkg-config --libs $(PKGS)))

OPT ?= -O2 -g
WARN := -Wall -Wextra $(if $(WERROR),-Werror)
SAN ?=
CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN) -fPIC -MMD -MP -Isrc -I$(BUILD) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) $(EXTRA_LDFLAGS)
LIBS := $(PKG_LIBS) -lpthread -lm -ldl

LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/%.o) $(BUILD)/api_header.o
CTEST_SRCS := $(wildcard tests/c/test_*.c)
CTESTS := $(CTEST_SRCS:tests/c/%.c=$(BUILD)/%)

all: $(BUILD)/libvstudio.so $(BUILD)/vstudio

$(BUILD)/libvstudio.so: $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libvstudio.so -o $@ $^ $(LDFLAGS) $(LIBS)

$(BUILD)/vstudio: $(BUILD)/main.o $(BUILD)/libvstudio.so
	$(CC) -rdynamic -o $@ $< -L$(BUILD) -lvstudio -Wl,-rpath,'$$ORIGIN:$$ORIGIN/../lib' $(LDFLAGS) $(LIBS)

$(BUILD)/%.o: src/%.c | $(BUILD) pkgs
	$(CC) $(CFLAGS) -c -o $@ $<

pkgs:
	$(if $(PKG_MISSING),@echo "make: missing (pkg-config): $(PKG_MISSING); 'make deps' installs them" >&2; exit 1,@:)

# The library embeds its public header so core.lua can ffi.cdef it verbatim.
$(BUILD)/api_header.c: src/vstudio.h scripts/embed-header | $(BUILD)
	sh scripts/embed-header $< > $@

$(BUILD)/api_header.o: $(BUILD)/api_header.c | pkgs
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/test_%: tests/c/test_%.c $(BUILD)/libvstudio.so | pkgs
	$(CC) $(CFLAGS) -o $@ $< -L$(BUILD) -lvstudio -Wl,-rpath,'$$ORIGIN' $(LDFLAGS) $(LIBS)

$(BUILD):
	mkdir -p $@

ctests: $(CTESTS)

deps:
	@sh scripts/install-deps

test: deps
	@$(MAKE) --no-print-directory all ctests
	@BUILD=$(BUILD) sh scripts/run-tests

demo: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/vstudio run examples/plasma.lua -o demo.mp4

bench: deps
	@sh scripts/install-deps --bench
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh scripts/bench

check: deps
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=undefined' all ctests
	@BUILD=build-asan SANITIZE=address sh scripts/run-tests

# The threaded parts through ThreadSanitizer: the C tests (pool, encoder
# pictures, the dataset's workers and map), then the render engine, convert,
# fault, captions (a libass renderer per worker) and sound (its own
# thread) specs through the instrumented binary.
TSAN_SPECS ?= tests/run_spec.lua tests/convert_spec.lua tests/faults_spec.lua tests/captions_spec.lua tests/render_sound_spec.lua tests/audio_sync_spec.lua
tsan: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT='-O1 -g' SAN='-fsanitize=thread' all ctests
	@for t in $(CTEST_SRCS:tests/c/%.c=build-tsan/%); do \
		TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$(CURDIR)/tests/tsan.supp" $$t >/dev/null \
			|| { echo "tsan: $$t failed"; exit 1; }; echo "tsan: $$t: clean"; done
	@BUILD=build-tsan SANITIZE=thread sh scripts/run-tests $(TSAN_SPECS)

# Every example under valgrind's memcheck: no errors, no leaks at exit.
valgrind: deps all
	@VSTUDIO_BIN=$(CURDIR)/$(BUILD)/vstudio sh scripts/valgrind-examples

# libFuzzer targets (clang): $(BUILD)/fuzz_<name> from tests/fuzz/fuzz_<name>.c, linked
# statically against an instrumented copy of the runtime in build-fuzz/ (built
# with the usual fuzzing define: PNG checksums are not checked there, so that
# mutated inputs reach the decoder).
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/%)
FUZZ_SAN := -fsanitize=address,undefined

fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT='-O1 -g' \
		SAN='$(FUZZ_SAN) -fsanitize=fuzzer-no-link -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION' \
		build-fuzz/libvstudio.a
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

$(BUILD)/libvstudio.a: $(LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libvstudio.a | $(BUILD) pkgs
	clang -std=c11 -D_GNU_SOURCE -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -Isrc $(PKG_CFLAGS) -o $@ $< \
		build-fuzz/libvstudio.a $(LIBS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/vstudio/lua/vstudio \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/vstudio $(DESTDIR)$(PREFIX)/bin/vstudio
	install -m 755 $(BUILD)/libvstudio.so $(DESTDIR)$(PREFIX)/lib/libvstudio.so
	install -m 644 lua/vstudio/*.lua $(DESTDIR)$(PREFIX)/share/vstudio/lua/vstudio/
	install -m 644 man/vstudio.1 $(DESTDIR)$(PREFIX)/share/man/man1/vstudio.1
	install -d $(DESTDIR)$(PYDIR)/vstudio
	install -m 644 python/vstudio/*.py $(DESTDIR)$(PYDIR)/vstudio/
	@$(PYTHON) -c 'import sys; sys.exit("$(PYDIR)" not in sys.path)' 2>/dev/null || \
		echo "install: Python finds vstudio with PYTHONPATH=$(PYDIR)"

clean:
	rm -rf build build-asan build-tsan build-clang build-fuzz

.PHONY: all ctests pkgs deps test demo bench check tsan fuzz valgrind install clean

-include $(wildcard $(BUILD)/*.d)
