# rad — build, test, install.  `make check` alone installs what is missing (as root),
# builds, and runs the whole suite, plain and under AddressSanitizer + UBSan.

PREFIX   ?= /usr/local
ARCH     ?= native
CC       ?= cc
OPT      ?= -O3 -march=$(ARCH) -fno-math-errno
CFLAGS   ?= $(OPT) -g
WARN      = -Wall -Wextra -Wshadow -Wno-sign-compare
CPPFLAGS += -Ilib -D_GNU_SOURCE -DRAD_VERSION='"$(VERSION)"'
VERSION   = 0.1.0
OMP       = -fopenmp
# Open MPI (base/dist.c): data-parallel training and the model stages under mpirun.  Without
# its headers the tools build as single processes only.
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   := $(shell pkg-config --libs ompi-c 2>/dev/null)
ifneq ($(MPI_LIBS),)
CPPFLAGS  += -DRAD_MPI $(MPI_CFLAGS)
endif
LDLIBS    = -ljansson -lzstd -lpcre2-8 -lutf8proc -ldnnl $(MPI_LIBS) -lm

# Debian packages the build and the tests need; `make deps` installs what is missing.
# python3-torch is the independent float64 reference of the exactness tests (tests/tools/torch*.sh);
# Debian's PyTorch calls the system BLAS (libblas.so.3), and libopenblas0-pthread makes that
# OpenBLAS rather than the single-threaded reference BLAS, as PyTorch's users run it (the
# bench's PyTorch columns).
DEB_PACKAGES = make gcc libc6-dev pkg-config libjansson-dev libzstd-dev zstd \
               libdnnl-dev libpcre2-dev libutf8proc-dev \
               parallel gnuplot-nox jq python3-torch libopenblas0-pthread libopenmpi-dev openmpi-bin
DEB_FUZZ     = clang libclang-rt-14-dev

# Two builds side by side: optimised (tools land in bin/) and sanitized (build/san/).
O         = build/opt
S         = build/san
SANFLAGS  = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# lib/ is in wings, one folder per pipeline stage (lib/README gives their order).
LIB_SRC   = $(wildcard lib/*/*.c)
TOOL_SRC  = $(wildcard bin/rad-*.c)
UNIT_SRC  = $(wildcard tests/unit/test_*.c)
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
# The demo's task program (pipelines/demo/): not a tool, not in the library.
DEMO_DIR  = pipelines/demo
BENCH_SRC = $(wildcard tests/bench/*.c)

TOOLS     = $(TOOL_SRC:bin/%.c=bin/%)
SAN_TOOLS = $(TOOL_SRC:bin/%.c=$(S)/bin/%)
UNITS     = $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
SAN_UNITS = $(UNIT_SRC:tests/unit/%.c=$(S)/tests/%)
AUX       = $(O)/$(DEMO_DIR)/reversal
BENCHES   = $(BENCH_SRC:tests/bench/%.c=$(O)/bench/%)

.PHONY: all check check-opt check-san test-build san-build deps deps-check install clean fuzz bench demo
.SUFFIXES:
.DELETE_ON_ERROR:

all: $(TOOLS) $(AUX)

# --- optimised build ------------------------------------------------------------------
$(O)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(OMP) -MMD -MP -c -o $@ $<
$(O)/librad.a: $(LIB_SRC:lib/%.c=$(O)/lib/%.o)
	@rm -f $@
	ar rcs $@ $^
bin/rad-%: bin/rad-%.c $(O)/librad.a
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(OMP) -MMD -MP -MF $(O)/bin/$*.d -o $@ $< $(O)/librad.a -Wl,--as-needed $(LDLIBS)
$(O)/tests/%: tests/unit/%.c tests/unit/test.h $(O)/librad.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) $(OMP) -MMD -MP -o $@ $< $(filter %.o,$^) $(O)/librad.a -Wl,--as-needed $(LDLIBS)
$(O)/$(DEMO_DIR)/%.o: $(DEMO_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(OMP) -MMD -MP -c -o $@ $<
$(O)/$(DEMO_DIR)/reversal: $(O)/$(DEMO_DIR)/reversal_cli.o $(O)/$(DEMO_DIR)/reversal.o $(O)/librad.a
	$(CC) $(CFLAGS) $(OMP) -o $@ $^ -Wl,--as-needed $(LDLIBS)
$(O)/bench/%: tests/bench/%.c $(O)/librad.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(OMP) -MMD -MP -o $@ $< $(O)/librad.a -Wl,--as-needed $(LDLIBS)
$(TOOLS): | $(O)/bin
$(O)/bin:
	@mkdir -p $@

# --- sanitized build ------------------------------------------------------------------
$(S)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SANFLAGS) $(WARN) $(OMP) -MMD -MP -c -o $@ $<
$(S)/librad.a: $(LIB_SRC:lib/%.c=$(S)/lib/%.o)
	@rm -f $@
	ar rcs $@ $^
$(S)/bin/rad-%: bin/rad-%.c $(S)/librad.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SANFLAGS) $(WARN) $(OMP) -MMD -MP -o $@ $< $(S)/librad.a $(LDLIBS)
$(S)/tests/%: tests/unit/%.c tests/unit/test.h $(S)/librad.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(SANFLAGS) $(WARN) $(OMP) -MMD -MP -o $@ $< $(filter %.o,$^) $(S)/librad.a $(LDLIBS)
$(S)/$(DEMO_DIR)/%.o: $(DEMO_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SANFLAGS) $(WARN) $(OMP) -MMD -MP -c -o $@ $<
# The demo task's unit test links the task itself.
$(O)/tests/test_reversal: $(O)/$(DEMO_DIR)/reversal.o
$(S)/tests/test_reversal: $(S)/$(DEMO_DIR)/reversal.o

test-build: all $(UNITS)
san-build: $(SAN_TOOLS) $(SAN_UNITS)

-include $(shell find build -name '*.d' 2>/dev/null)

# --- tests ----------------------------------------------------------------------------
# One run, one closing line: both builds' results are counted together.
check: deps-check
	@$(MAKE) --no-print-directory -j$$(nproc) test-build san-build
	@tests/run opt:bin:$(O)/tests san:$(S)/bin:$(S)/tests
check-opt: deps-check
	@$(MAKE) --no-print-directory -j$$(nproc) test-build
	@tests/run opt:bin:$(O)/tests
check-san: deps-check
	@$(MAKE) --no-print-directory -j$$(nproc) san-build
	@tests/run san:$(S)/bin:$(S)/tests

# --- dependencies ---------------------------------------------------------------------
missing = $(shell for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done)
deps:
	@m="$(call missing,$(DEB_PACKAGES))"; \
	if [ -z "$$m" ]; then echo "rad: all build and test packages are installed"; \
	elif [ "$$(id -u)" = 0 ]; then echo "rad: installing $$m"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$m; \
	else echo "rad: missing packages; run as root:"; echo "  apt-get install $$m"; exit 1; fi
deps-check:
	@command -v dpkg-query >/dev/null || exit 0; \
	m="$(call missing,$(DEB_PACKAGES))"; [ -z "$$m" ] || $(MAKE) --no-print-directory deps

# --- fuzzing (clang libFuzzer) ------------------------------------------------------
# Leak detection is off: a rejected input longjmps out of the reader, leaving its buffers
# behind by design (a tool would exit there).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS    = -O1 -g -fsanitize=fuzzer,address,undefined -Ilib -D_GNU_SOURCE -DRAD_VERSION='"$(VERSION)"'
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fopenmp -o $@ $< $(LIB_SRC) $(LDLIBS)
fuzz:
	@m="$(call missing,$(DEB_FUZZ))"; [ -z "$$m" ] || $(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_FUZZ)"
	@$(MAKE) --no-print-directory $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
	@for f in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
		mkdir -p build/fuzz/corpus-$$f; \
		echo "== $$f ($(FUZZ_SECONDS) s)"; \
		ASAN_OPTIONS=detect_leaks=0 build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -detect_leaks=0 \
			build/fuzz/corpus-$$f tests/fuzz/corpus/$$f 2>&1 | grep -E '^(stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' ; \
	done

# --- benchmarks, demo -----------------------------------------------------------------
# Each tests/bench/*.sh prints its figures; C bench programs are built into build/opt/bench.
bench: deps-check all $(BENCHES)
	@for b in tests/bench/*.sh; do echo "== $$b"; RAD_BIN=$$PWD/bin RAD_BENCH=$$PWD/$(O)/bench bash $$b || exit 1; done
demo: deps-check all
	@pipelines/demo/run

# --- install --------------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin
	install -m 644 man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 man/man5/*.5 $(DESTDIR)$(PREFIX)/share/man/man5

clean:
	rm -rf build $(TOOLS)
