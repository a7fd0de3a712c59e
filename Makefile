# wstap - passive TCP / HTTP / WebSocket capture analyzer.
# Plain GNU make; dependencies are found with pkg-config.
#   make            build ./wstap
#   make run        install missing deps (root) or say how, build, analyze a bundled capture
#   make check      install missing deps, build, run every test
#   make install    PREFIX=/usr/local DESTDIR=
.SUFFIXES:
.DEFAULT_GOAL := all

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
PKG_CONFIG ?= pkg-config

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wvla -Werror
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  ?=
LDFLAGS ?=
BUILD   ?= build

PCAP_CFLAGS   = $(shell $(PKG_CONFIG) --cflags libpcap)
PCAP_LIBS     = $(shell $(PKG_CONFIG) --libs libpcap) -pthread
Z_CFLAGS      = $(shell $(PKG_CONFIG) --cflags zlib)
Z_LIBS        = $(shell $(PKG_CONFIG) --libs zlib)
CRYPTO_CFLAGS = $(shell $(PKG_CONFIG) --cflags libcrypto)
CRYPTO_LIBS   = $(shell $(PKG_CONFIG) --libs libcrypto)
CHECK_CFLAGS  = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS    = $(shell $(PKG_CONFIG) --libs check)

ALL_CFLAGS = $(CSTD) $(WARN) $(OPT) $(SAN) -Iinclude -MMD -MP $(CFLAGS)
CORE_LIBS  = $(Z_LIBS) $(CRYPTO_LIBS)

# The analyzer core: no I/O, no libpcap. Linked by the binary and by the tests.
CORE_SRCS := src/names.c src/dynbuf.c src/decode.c src/ipfrag.c src/flow.c src/reasm.c src/tcpanal.c src/tcp.c src/analyzer.c src/http.c src/wshs.c src/sniff.c src/app.c src/wsapp.c src/wsframe.c src/wsmsg.c src/wsmid.c src/pingpair.c src/pmd.c src/keylog.c src/tlskdf.c src/tlsrec.c src/tlsapp.c src/commid.c
# The front end: options, libpcap capture, sinks.
APP_SRCS  := src/capture.c src/evq.c src/outbuf.c src/report.c src/har.c src/sink_text.c src/sink_json.c src/streams.c src/tfilter.c src/main.c
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))

CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
APP_OBJS  := $(APP_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
LIBCORE   := $(BUILD)/libwstap.a
LIBAPP    := $(BUILD)/libwstapapp.a

.PHONY: all run check deps deps-build unit golden corpus oracle follow install uninstall clean \
        golden-update fmt http tcpanal upgrade wsmsg har wsframes latency midstream zeekconn cli hostile san \
        san-bins sanitize valgrind tlsoracle

all: wstap

# Only the front end sees libpcap's headers; the core cannot include them by accident.
$(APP_OBJS): EXTRA_CFLAGS = $(PCAP_CFLAGS) $(CRYPTO_CFLAGS) -pthread
$(CORE_OBJS): EXTRA_CFLAGS = $(Z_CFLAGS) $(CRYPTO_CFLAGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -c -o $@ $<

$(LIBCORE): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Everything of the binary but main(), so the tests can link the sinks and capture code.
$(LIBAPP): $(filter-out $(BUILD)/src/main.o,$(APP_OBJS))
	@rm -f $@
	ar rcs $@ $^

wstap: $(BUILD)/src/main.o $(LIBAPP) $(LIBCORE)
	$(CC) $(OPT) $(SAN) $(LDFLAGS) -o $@ $^ $(PCAP_LIBS) $(CORE_LIBS)

# The same binary inside $(BUILD)/ (the sanitizer build links build-san/wstap).
$(BUILD)/wstap: $(BUILD)/src/main.o $(LIBAPP) $(LIBCORE)
	$(CC) $(OPT) $(SAN) $(LDFLAGS) -o $@ $^ $(PCAP_LIBS) $(CORE_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/util.h tests/unit/wsbuild.h $(LIBAPP) $(LIBCORE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) $(PCAP_CFLAGS) -Itests/unit -o $@ $< \
	    $(LIBAPP) $(LIBCORE) $(SAN) $(LDFLAGS) $(CHECK_LIBS) $(PCAP_LIBS) $(CORE_LIBS)

# test_alloc counts every allocation of the core and the sinks (no allocation per packet).
$(BUILD)/tests/test_alloc: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free

deps:
	@sh tools/deps.sh check

deps-build:
	@sh tools/deps.sh build

run: deps-build
	@$(MAKE) --no-print-directory wstap
	./wstap -r pcaps/ws-python-deflate.pcap

unit: $(UNIT_BINS)
	@sh tests/run-unit.sh $(UNIT_BINS)

golden: wstap
	@sh tests/run-golden.sh

golden-update: wstap
	@sh tests/run-golden.sh --update

corpus: wstap
	@sh tests/run-corpus.sh

oracle: wstap
	@sh tests/tshark-tcpopen.sh

follow: wstap
	@sh tests/tshark-follow.sh

http: wstap
	@sh tests/tshark-http.sh

tcpanal: wstap
	@sh tests/tshark-tcpanal.sh

upgrade: wstap
	@sh tests/upgrade-expect.sh

wsmsg: wstap
	@sh tests/ws-sidecar.sh

har: wstap
	@sh tests/har.sh

wsframes: wstap
	@sh tests/tshark-ws.sh

latency: wstap
	@sh tests/tshark-rtt.sh

midstream: wstap
	@sh tests/midstream.sh

zeekconn: wstap
	@sh tests/zeek-conn.sh

cli: wstap
	@sh tests/cli.sh

hostile: wstap
	@sh tests/hostile.sh

# TLS captures against tshark with their key logs (issue #19); not in make check yet
tlsoracle: wstap
	@sh tests/tshark-tls.sh

# ---- sanitizers (issue #8) -------------------------------------------------------------------
# make san builds everything again with AddressSanitizer + UndefinedBehaviorSanitizer into
# $(SAN_BUILD)/ (its own objects: nothing is shared with $(BUILD)/); make sanitize runs the unit
# tests, the golden suite, the corpus pass, the fuzzers' reproducers and the hostile captures
# with it (tests/sanitize.sh). make check does both. make valgrind runs the same suites (not the
# unit tests) through valgrind with the ordinary binary.
SAN_BUILD ?= build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SAN_UNIT  := $(UNIT_SRCS:tests/unit/%.c=$(SAN_BUILD)/tests/%)

san:
	@$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) SAN="$(SAN_FLAGS)" OPT="-O1 -g" san-bins

san-bins: $(BUILD)/wstap $(UNIT_BINS)

sanitize: san
	@sh tests/sanitize.sh $(SAN_BUILD)/wstap $(SAN_UNIT)

valgrind: wstap
	@sh tests/valgrind.sh

# make check: every test suite; tests/check.sh prints one "N passed, N failed" line at the end.
check: deps
	@$(MAKE) --no-print-directory wstap $(UNIT_BINS)
	@$(MAKE) --no-print-directory san
	@sh tests/check.sh $(UNIT_BINS) -- $(SAN_BUILD)/wstap $(SAN_UNIT)

install: wstap
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 wstap $(DESTDIR)$(BINDIR)/wstap
	install -m 0644 man/wstap.1 $(DESTDIR)$(MANDIR)/man1/wstap.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/wstap $(DESTDIR)$(MANDIR)/man1/wstap.1

fmt:
	clang-format -i src/*.c include/*.h include/wstap/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf $(BUILD) $(SAN_BUILD) wstap tests/out

# ---- fuzzing (issue #8): libFuzzer targets, built with clang into $(FUZZ_BUILD)/ --------------
# Not part of make check. make fuzz builds fuzz_pcap, fuzz_stream and fuzz_tls (the core, the capture
# front end and the sinks compiled again with clang and the sanitizers) and makes the seed
# corpora; make fuzz-run runs each target for FUZZ_SECONDS, one after the other. See
# fuzz/README.md.
FUZZ_CC        ?= clang
FUZZ_BUILD     ?= build-fuzz
FUZZ_SECONDS   ?= 1800
FUZZ_TARGETS   ?= pcap stream tls
FUZZ_CORPUS    ?= $(if $(WSTAP_CORPUS),$(WSTAP_CORPUS),../shared/corpus)
FUZZ_MAX_LEN_pcap   ?= 131072
FUZZ_MAX_LEN_stream ?= 65536
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_OPT    ?= -O1 -g
FUZZ_CFLAGS  = $(CSTD) $(WARN) $(FUZZ_OPT) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Iinclude -Ifuzz \
               -MMD -MP $(PCAP_CFLAGS) $(Z_CFLAGS) $(CRYPTO_CFLAGS)
FUZZ_LIB_SRCS := $(CORE_SRCS) $(filter-out src/main.c src/streams.c,$(APP_SRCS))
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_LIB      := $(FUZZ_BUILD)/libwstapfuzz.a
FUZZ_NAMES    := fuzz_pcap fuzz_stream fuzz_tls
FUZZ_OBJS     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz/%.o) $(FUZZ_BUILD)/fuzz/fuzz_common.o
FUZZ_BINS     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)

.PHONY: fuzz fuzz-run

$(FUZZ_BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz/%.o: fuzz/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/%: $(FUZZ_BUILD)/fuzz/%.o $(FUZZ_BUILD)/fuzz/fuzz_common.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_OPT) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PCAP_LIBS) $(CORE_LIBS)

# Seeds are made afresh every time (a few seconds): every capture of pcaps/ and the corpus
# for fuzz_pcap, and their reassembled streams (wstap --streams) for fuzz_stream.
fuzz: $(FUZZ_BINS) wstap
	@rm -rf $(FUZZ_BUILD)/seeds
	python3 fuzz/mkseeds.py --wstap ./wstap --out $(FUZZ_BUILD)/seeds \
	    --max-len $(FUZZ_MAX_LEN_stream) pcaps $(wildcard $(FUZZ_CORPUS))
	python3 fuzz/mkseeds_tls.py --out $(FUZZ_BUILD)/seeds/tls

# One target after the other (never in parallel): new inputs go to $(FUZZ_BUILD)/corpus/T,
# crashes to $(FUZZ_BUILD)/artifacts/T/, the log to $(FUZZ_BUILD)/T.log.
fuzz-run: fuzz
	@rc=0; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/artifacts/$$t; \
	    case $$t in pcap) ml=$(FUZZ_MAX_LEN_pcap) ;; *) ml=$(FUZZ_MAX_LEN_stream) ;; esac; \
	    echo "fuzz-run: fuzz_$$t for $(FUZZ_SECONDS) s, log in $(FUZZ_BUILD)/$$t.log"; \
	    $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=$$ml \
	        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
	        -dict=fuzz/wstap.dict -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t/ \
	        $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/seeds/$$t > $(FUZZ_BUILD)/$$t.log 2>&1 \
	        || rc=1; \
	    grep -E '^(#[0-9]+ +DONE|stat::|Done [0-9]+ runs|==[0-9]+==ERROR|SUMMARY)' \
	        $(FUZZ_BUILD)/$$t.log || tail -n 20 $(FUZZ_BUILD)/$$t.log; \
	done; exit $$rc

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_LIB_OBJS:.o=.d)

-include $(CORE_OBJS:.o=.d) $(APP_OBJS:.o=.d) $(UNIT_BINS:=.d)

# ---- benchmarks (issue #7) -------------------------------------------------------------------
# Not part of `make check`. bench-gen (root) writes the large captures to $(BENCH_DIR), outside
# the repository; bench times wstap against tshark, tcpflow and a bare libpcap loop on them.
# See bench/README.md. BENCH_SKIP_TSHARK=1 skips tshark.
BENCH_DIR ?= /var/tmp/wstap-bench
PCAPFLOOR := $(BUILD)/bench/pcapfloor
ZFLOOR    := $(BUILD)/bench/zfloor

.PHONY: bench bench-gen
bench-gen:
	BENCH_DIR=$(BENCH_DIR) bash bench/gen.sh

$(PCAPFLOOR): bench/pcapfloor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< $(PCAP_CFLAGS) $(PCAP_LIBS)

$(ZFLOOR): bench/zfloor.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< $(Z_CFLAGS) $(Z_LIBS) -pthread

bench: wstap $(PCAPFLOOR) $(ZFLOOR)
	BENCH_DIR=$(BENCH_DIR) WSTAP=./wstap PCAPFLOOR=$(PCAPFLOOR) ZFLOOR=$(ZFLOOR) bash bench/run.sh
