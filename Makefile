# nodeoracle - build, test, coverage, sanitizers, benchmark.
#
#   make demo       install missing Debian packages, build, run `nodeoracle demo`
#   make test       install missing Debian packages, build, run the Criterion suite
#   make coverage   line coverage of problem/ ref/ fast/ oracle/ io/ (gcovr)
#   make sanitize   the suite under ASan + UBSan
#   make valgrind   the suite under valgrind memcheck
#   make mpi        build/nodeoracle-mpi: gen, check and width split across MPI
#                   ranks (docs/mpi.md; needs mpicc, from libopenmpi-dev)
#   make bench      median timings of forward+gradient, of a GD step (fast vs ref),
#                   of kernel GD steps as the expansion grows, and of `nodeoracle
#                   check` from golden files vs on the fly (a benchmark, not a test)
#   make fuzz       install clang and libFuzzer if missing, build the libFuzzer
#                   harnesses (fuzz/README.md: make -C fuzz smoke|long to run them)
#   make examples-matrix  every NumPy mutant on every default problem, named
#                   (a long sweep, about 13 minutes; make test runs a subset)
#   make install    bin/nodeoracle, lib/libnodeoracle.a, include/nodeoracle.h and
#                   lib/pkgconfig/nodeoracle.pc under PREFIX (default /usr/local),
#                   staged under DESTDIR when given
#
# NO_TEST_ITERS multiplies the random-problem counts of the property tests
# (Arb-style): CI runs the default 1, a nightly run may set 20.

CC       ?= gcc
BUILD    ?= build
OPT      ?= -O2
# -ffp-contract=off: no FMA contraction, so doubles (generator, fast/) give the
# same bits on every platform; -std=c11 for ISO C.
# CFLAGS is the user's (optimisation, instrumentation); NO_CFLAGS is the
# project's and always applies, even when CFLAGS is given on the command line.
CFLAGS   ?= $(OPT) -g
NO_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -ffp-contract=off \
            -Iproblem -Iref -Ifast -Ioracle -Iio
LDLIBS   += -ljansson -lnettle -lmpfr -lgmp -lm -llapacke -lopenblas -lpthread
TESTLIBS  = -lcriterion

PROBLEM_SRC = $(wildcard problem/*.c)
REF_SRC     = $(wildcard ref/*.c)
FAST_SRC    = $(wildcard fast/*.c)
ORACLE_SRC  = $(filter-out oracle/main.c,$(wildcard oracle/*.c))
IO_SRC      = $(wildcard io/*.c)
API_SRC     = $(wildcard api/*.c)
LIB_SRC     = $(PROBLEM_SRC) $(REF_SRC) $(FAST_SRC) $(ORACLE_SRC) $(IO_SRC) $(API_SRC)
TEST_SRC    = $(wildcard tests/*.c)

LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)
HEADERS  = $(wildcard problem/*.h ref/*.h fast/*.h oracle/*.h io/*.h tests/*.h include/*.h)

BIN  = $(BUILD)/nodeoracle
TBIN = $(BUILD)/test_nodeoracle
BBIN = $(BUILD)/bench_nodeoracle

# nodeoracle-mpi (docs/mpi.md): gen, check and width split across MPI ranks.
# Its own main (mpi/), compiled with mpicc and linked with the same library:
# nodeoracle and libnodeoracle.a never depend on MPI.  `make test` builds it
# when mpicc is installed (openmpi-bin, libopenmpi-dev are in DEPS); without
# it the suite's mpi tests say so and skip.
MPICC   ?= mpicc
MPI_SRC  = $(wildcard mpi/*.c)
MPI_OBJ  = $(MPI_SRC:%.c=$(BUILD)/%.o)
MBIN     = $(BUILD)/nodeoracle-mpi

.PHONY: all deps demo test mpi coverage sanitize valgrind bench fuzz examples-matrix install clean

all: $(BIN) $(TBIN)

# Debian packages the build and tests need; installed only when missing.
# README.md lists the same packages (tests/test_install.c compares the two).
DEPS = libmpfr-dev libgmp-dev libjansson-dev nettle-dev libcriterion-dev gcovr pkg-config \
       python3-numpy python3-venv python3-pip python3-setuptools python3-jsonschema python3-pytest \
       gnuplot-nox libopenblas-dev liblapacke-dev openmpi-bin libopenmpi-dev
deps:
	@missing=""; for p in $(DEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(NO_CFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libnodeoracle.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/oracle/main.o $(BUILD)/libnodeoracle.a
	$(CC) $(NO_CFLAGS) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(TBIN): $(TEST_OBJ) $(BUILD)/libnodeoracle.a
	$(CC) $(NO_CFLAGS) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(TESTLIBS) $(LDLIBS)

$(BBIN): $(BUILD)/bench/bench.o $(BUILD)/libnodeoracle.a
	$(CC) $(NO_CFLAGS) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/mpi/%.o: mpi/%.c $(HEADERS) $(wildcard mpi/*.h)
	@mkdir -p $(dir $@)
	$(MPICC) $(NO_CFLAGS) $(CFLAGS) -c $< -o $@

$(MBIN): $(MPI_OBJ) $(BUILD)/libnodeoracle.a
	$(MPICC) $(NO_CFLAGS) $(CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

mpi: deps
	@$(MAKE) --no-print-directory $(MBIN)

demo: deps
	@$(MAKE) --no-print-directory $(BIN)
	./$(BIN) demo

# Criterion runs tests in parallel processes; -j2 matches the 2-core machines.
test: deps
	@$(MAKE) --no-print-directory $(TBIN) $(BIN)
	@if command -v $(MPICC) >/dev/null 2>&1; then $(MAKE) --no-print-directory $(MBIN); \
	else echo "make test: no $(MPICC) (libopenmpi-dev): nodeoracle-mpi not built, the mpi tests skip"; fi
	./$(TBIN) -j2

coverage: deps
	@$(MAKE) --no-print-directory BUILD=build-cov OPT=-O0 CFLAGS="-O0 -g --coverage" \
	  LDFLAGS=--coverage build-cov/test_nodeoracle build-cov/nodeoracle
	@find build-cov -name '*.gcda' -delete
	./build-cov/test_nodeoracle -j2 >/dev/null
	gcovr -r . --object-directory build-cov --filter problem/ --filter ref/ --filter fast/ \
	  --filter oracle/ --filter io/ --print-summary | tail -n 25
	@echo "coverage goal: >= 90% of lines (the lines: figure above)"

sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build-san \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" build-san/test_nodeoracle build-san/nodeoracle
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build-san/test_nodeoracle -j2

# The tests run the nodeoracle next to the test binary, so both are built.
valgrind: deps
	@$(MAKE) --no-print-directory $(TBIN) $(BIN)
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --trace-children=yes --trace-children-skip='*python*,*/validate.sh,*mpirun*' -q ./$(TBIN) -j2

# Its own build directory, so the timed library is always the -O3 one; the
# bench also times the -O3 build-bench/nodeoracle check (found next to itself).
bench: deps
	@$(MAKE) --no-print-directory BUILD=build-bench OPT=-O3 build-bench/bench_nodeoracle \
	  build-bench/nodeoracle
	./build-bench/bench_nodeoracle

examples-matrix: deps
	@$(MAKE) --no-print-directory $(BIN)
	examples/numpy/mutant_matrix.sh default

# clang, and libFuzzer with the sanitizer runtimes, which Debian ships apart
# from clang (bookworm: libclang-rt-dev -> libclang-rt-14-dev holds
# libclang_rt.fuzzer-x86_64.a); the versionless names follow the default
# clang.  Installed with the main build's DEPS in one apt-get run.  The
# harnesses link what the main build links: LDLIBS is handed down.
FUZZ_DEPS = clang libclang-rt-dev nettle-dev
fuzz:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(FUZZ_DEPS)"
	@$(MAKE) --no-print-directory -C fuzz BUILD=build PROJECT_LDLIBS="$(LDLIBS)"

# make install PREFIX=/opt/nodeoracle [DESTDIR=/tmp/stage]: the command, the
# static library, the one public header (include/nodeoracle.h, self-contained:
# the internal headers are not installed) and a pkg-config file whose prefix
# is PREFIX (DESTDIR only stages the files, as packagers expect).
# The library is a static archive only, so its own dependencies are in the
# .pc file's Libs: `pkg-config --cflags --libs nodeoracle` links them.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR      = $(PREFIX)/bin
LIBDIR      = $(PREFIX)/lib
INCLUDEDIR  = $(PREFIX)/include
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
VERSION    := $(shell sed -n 's/^\#define NODEORACLE_VERSION "\(.*\)"/\1/p' oracle/cmd.h)

install: $(BIN) $(BUILD)/libnodeoracle.a
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/nodeoracle
	install -m 644 $(BUILD)/libnodeoracle.a $(DESTDIR)$(LIBDIR)/libnodeoracle.a
	install -m 644 include/nodeoracle.h $(DESTDIR)$(INCLUDEDIR)/nodeoracle.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' nodeoracle.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/nodeoracle.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/nodeoracle.pc

clean:
	rm -rf build build-cov build-san build-bench build-vg fuzz/build
