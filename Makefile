# onair: one non-recursive Makefile (STYLE.md section 8). Sources are found by wildcard, so a
# new .c file in common/ proto/ signal/ sfu/ or a tests/unit/test_*.c needs no edit here.
#
#   make            build the release binaries into build/release/
#   make run        install what is missing, build, start signal + one SFU (demo mode)
#   make test       install what is missing, build, run every suite; ends "N passed, N failed"
#   make test-unit  unit tests + fuzz corpus replay under ASan+UBSan only
#   make fuzz       libFuzzer (clang-14) on every target for FUZZ_SECS each
#   make bench      benchmarks against the Node.js reference (see docs/BENCHMARKS.md)
#   make format / format-check
#
# Modes: MODE=release (default), MODE=asan (ASan+UBSan+LSan), MODE=fuzz (clang, libFuzzer),
# MODE=tsan (ThreadSanitizer: `make MODE=tsan binaries tests-bins`, then run a test with
# ONAIR_BUILD=build/tsan).

MODE    ?= release
B       := build/$(MODE)
CC      := gcc
AR      ?= ar
FUZZ_SECS ?= 20

LLHTTP_DIR := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp

PKGS := libuv libsrtp2 nice glib-2.0 gio-2.0 gio-unix-2.0 openssl jansson hiredis libjwt zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

ifeq ($(MODE),asan)
  SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O1
else ifeq ($(MODE),tsan)
  # ThreadSanitizer, for the SFU's fan-out threads (docs/SFU.md); not part of make test
  SAN := -fsanitize=thread -fno-omit-frame-pointer
  OPT := -O1
else ifeq ($(MODE),fuzz)
  CC  := clang-14
  SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
  OPT := -O1
else
  SAN :=
  OPT := -O2
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter
ifneq ($(CI),)
  WERROR := -Werror
endif
CPPFLAGS := -I. -I$(LLHTTP_INC) -D_GNU_SOURCE
CFLAGS   := -std=gnu11 $(OPT) -g $(WARN) $(WERROR) $(SAN) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  := $(SAN)
# llhttp is generated code with its own warnings: its own flags, never -Werror (c-deps.md 2).
LLHTTP_CFLAGS := -std=gnu11 $(OPT) -g $(SAN) -Wall -Wno-unused-parameter -fPIC

COMMON_SRC := $(wildcard common/*.c)
PROTO_SRC  := $(wildcard proto/*.c)
SIGNAL_SRC := $(filter-out signal/main.c,$(wildcard signal/*.c))
SFU_SRC    := $(filter-out sfu/main.c,$(wildcard sfu/*.c))
CTL_SRC    := $(wildcard signal/ctl/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
TOOL_SRC   := $(wildcard tests/bench/*.c)
REC_SRC    := $(wildcard recorder/*.c)
# libav* is for onair-recorder alone (docs/RECORDING.md); no other binary links it.
AV_PKGS    := libavformat libavcodec libavutil

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBCOMMON := $(B)/libcommon.a
LIBPROTO  := $(B)/libproto.a
LIBSIGNAL := $(B)/libsignal.a
LIBSFU    := $(B)/libsfu.a
LIBLLHTTP := $(B)/libllhttp.a
LIBS_ALL  := $(LIBSIGNAL) $(LIBSFU) $(LIBPROTO) $(LIBCOMMON) $(LIBLLHTTP)

SIGNAL_BIN := $(B)/onair-signal
SFU_BIN    := $(B)/onair-sfu
CTL_BIN    := $(if $(CTL_SRC),$(B)/onairctl)
REC_BIN    := $(if $(REC_SRC),$(B)/onair-recorder)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
REPLAY_BINS:= $(patsubst tests/fuzz/fuzz_%.c,$(B)/fuzz/replay_%,$(FUZZ_SRC))
FUZZ_BINS  := $(patsubst tests/fuzz/fuzz_%.c,$(B)/fuzz/fuzz_%,$(FUZZ_SRC))
TOOL_BINS  := $(patsubst tests/bench/%.c,$(B)/tools/%,$(TOOL_SRC))

.PHONY: all run test test-unit fuzz bench deps format format-check clean binaries tools
.DEFAULT_GOAL := all
.PRECIOUS: $(B)/obj/%.o $(B)/llhttp/%.o
.DELETE_ON_ERROR:

all: binaries
binaries: $(SIGNAL_BIN) $(if $(wildcard sfu/main.c),$(SFU_BIN)) $(CTL_BIN) $(REC_BIN)
tools: $(TOOL_BINS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(LLHTTP_CFLAGS) -I$(LLHTTP_INC) -c $< -o $@

$(LIBLLHTTP): $(B)/llhttp/llhttp.o $(B)/llhttp/api.o $(B)/llhttp/http.o
$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBPROTO): $(call obj,$(PROTO_SRC))
$(LIBSIGNAL): $(call obj,$(SIGNAL_SRC))
$(LIBSFU): $(call obj,$(SFU_SRC))
$(B)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^ $(if $^,,$(B)/empty.o)

$(B)/empty.o:
	@mkdir -p $(dir $@)
	echo 'extern int onair_empty_; int onair_empty_;' | $(CC) -x c -c - -o $@
$(LIBSIGNAL) $(LIBSFU) $(LIBPROTO) $(LIBCOMMON): | $(B)/empty.o

$(SIGNAL_BIN): $(call obj,signal/main.c) $(LIBSIGNAL) $(LIBPROTO) $(LIBCOMMON) $(LIBLLHTTP)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@
$(SFU_BIN): $(call obj,sfu/main.c) $(LIBSFU) $(LIBPROTO) $(LIBCOMMON)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@
$(B)/onairctl: $(call obj,$(CTL_SRC)) $(LIBSIGNAL) $(LIBPROTO) $(LIBCOMMON) $(LIBLLHTTP)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@

$(call obj,$(REC_SRC)): CFLAGS += $(shell pkg-config --cflags $(AV_PKGS) 2>/dev/null)
$(B)/onair-recorder: $(call obj,$(REC_SRC)) $(LIBPROTO) $(LIBCOMMON)
	$(CC) $(LDFLAGS) $^ $(shell pkg-config --libs $(AV_PKGS) 2>/dev/null) -lm -o $@

$(B)/tests/%: $(call obj,tests/unit/%.c) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@
$(B)/tools/%: $(call obj,tests/bench/%.c) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -pthread -o $@

# Fuzz corpus replay (gcc, ASan): the target's LLVMFuzzerTestOneInput + tests/fuzz/replay.c.
$(B)/fuzz/replay_%: $(call obj,tests/fuzz/fuzz_%.c) $(call obj,tests/fuzz/replay.c) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(PKG_LIBS) -o $@
# libFuzzer binaries (MODE=fuzz only).
$(B)/fuzz/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer $^ $(PKG_LIBS) -o $@

# ---- dependencies ------------------------------------------------------------------------
deps:
	@scripts/deps.sh

# ---- run ---------------------------------------------------------------------------------
run: deps
	$(MAKE) --no-print-directory MODE=release binaries
	scripts/run.sh build/release

# ---- tests -------------------------------------------------------------------------------
# the release build is compiled too (its -O2 warnings, -Werror in CI), with the bench tools:
# tests/e2e/sfu_fanout.test.mjs drives the ASan SFU with the C load viewer (tools/sfu_load)
test: deps
	$(MAKE) --no-print-directory MODE=asan binaries tests-bins
	$(MAKE) --no-print-directory MODE=release binaries tools
	scripts/test.sh

test-unit:
	$(MAKE) --no-print-directory MODE=asan tests-bins
	SUITES=unit scripts/test.sh

.PHONY: tests-bins
tests-bins: $(UNIT_BINS) $(REPLAY_BINS)

fuzz:
	$(MAKE) --no-print-directory MODE=fuzz fuzz-bins
	scripts/fuzz.sh build/fuzz $(FUZZ_SECS)
.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_BINS)

bench: deps
	$(MAKE) --no-print-directory MODE=release binaries tools
	scripts/bench.sh

# ---- format ------------------------------------------------------------------------------
FMT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FMT_SRC)
format-check:
	clang-format --dry-run --Werror $(FMT_SRC)

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
