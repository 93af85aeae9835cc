# FlightDeck Event Gateway. Quick start: `make run` (gateway on :8080) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

JAR := target/flightdeck-gateway.jar
FLIGHTDECK_DB_URL ?= postgresql://postgres@127.0.0.1:5432/flightdeck
export FLIGHTDECK_DB_URL
MVN := mvn -B -q
# FLIGHTDECK_DB_URL's host and port: after the scheme, before the path or query, after the userinfo's last '@' (a
# password may hold '@' and quotes); an IPv6 host in brackets ([::1]:5432). DB_ADDRESS is how messages write them.
# Read once (:=), not at each use.
DB_AUTHORITY := $(shell printf '%s\n' '$(subst ','\'',$(FLIGHTDECK_DB_URL))' \
  | sed -E 's#^[a-z]+://##; s#[/?].*$$##; s#^.*@##')
DB_HOST := $(shell printf '%s\n' '$(DB_AUTHORITY)' | sed -E 's#^\[([^]]*)\].*$$#\1#; t; s#:.*$$##')
DB_PORT := $(or $(shell printf '%s\n' '$(DB_AUTHORITY)' | sed -nE 's#^(\[[^]]*\]|[^:]*):([0-9]+)$$#\2#p'),5432)
DB_ADDRESS := $(if $(findstring :,$(DB_HOST)),[$(DB_HOST)],$(DB_HOST)):$(DB_PORT)

.PHONY: help build run db db-check browser metrics-tools test bench bench-smoke clean

help:
	@echo "make run     build and start the gateway on :8080 against FLIGHTDECK_DB_URL (starts PostgreSQL if needed)"
	@echo "make test    run the whole test suite (needs PostgreSQL: Docker, or FLIGHTDECK_TEST_DB_URL / local server)"
	@echo "make bench   run the benchmark and write docs/BENCHMARKS.md"
	@echo "make db      start PostgreSQL: docker compose, else a local Debian cluster"

# conf/gateway.yaml too: the jar carries it as its defaults (pom.xml's resources)
# and src/build: the tracking snippet is minified by it (docs/SNIPPET.md)
$(JAR): pom.xml conf/gateway.yaml $(shell find src/main src/build -type f 2>/dev/null)
	$(MVN) package -DskipTests

build: $(JAR)

# -XX:-OmitStackTraceInFastThrow: errors a projection hits often keep their message for its dead letters
run: build
	@$(MAKE) --no-print-directory db-check || $(MAKE) --no-print-directory db
	java -XX:-OmitStackTraceInFastThrow $(JAVA_OPTS) -jar $(JAR)

# Succeeds when something accepts TCP connections at the database's host and port.
db-check:
	@timeout 2 bash -c 'exec 3<>/dev/tcp/$(DB_HOST)/$(DB_PORT)' 2>/dev/null \
	  && echo "PostgreSQL answers at $(DB_ADDRESS)"

# Starts nothing when a server answers already (docker compose would fail on the taken port, pg_ctlcluster with
# "Cluster is already running."), nor a server that could not be the one FLIGHTDECK_DB_URL names: another machine's,
# or a local port other than the one it listens on (docker compose's 127.0.0.1:5432; a Debian cluster's own port, as
# pg_lsclusters lists it). It used to start compose's PostgreSQL or the newest "main" cluster whatever the URL said,
# then wait 30 s for an address they do not serve.
db:
	@if timeout 2 bash -c 'exec 3<>/dev/tcp/$(DB_HOST)/$(DB_PORT)' 2>/dev/null; then \
	  echo "PostgreSQL already answers at $(DB_ADDRESS): nothing to start"; \
	elif [ "$(DB_HOST)" != 127.0.0.1 ] && [ "$(DB_HOST)" != localhost ] && [ "$(DB_HOST)" != ::1 ]; then \
	  echo "PostgreSQL does not answer at $(DB_ADDRESS) (FLIGHTDECK_DB_URL): make db starts a server on this"; \
	  echo "machine only (127.0.0.1, ::1 or localhost). Start that server, or point FLIGHTDECK_DB_URL at one that runs."; \
	  exit 1; \
	elif docker info >/dev/null 2>&1; then \
	  if [ "$(DB_PORT)" != 5432 ] || [ "$(DB_HOST)" = ::1 ]; then \
	    echo "PostgreSQL does not answer at $(DB_ADDRESS) (FLIGHTDECK_DB_URL), and docker compose's listens"; \
	    echo "on 127.0.0.1:5432: use that address, or start a server at $(DB_ADDRESS) yourself."; \
	    exit 1; \
	  fi; \
	  echo "starting PostgreSQL with docker compose"; \
	  docker compose -f docker/compose.yml up -d --wait postgres; \
	elif command -v pg_ctlcluster >/dev/null 2>&1 && [ -n "$$(pg_lsclusters -h 2>/dev/null)" ]; then \
	  set -- $$(pg_lsclusters -h | awk -v port='$(DB_PORT)' '$$3 == port { print $$1, $$2; exit }'); \
	  if [ $$# -eq 0 ]; then \
	    echo "No local PostgreSQL cluster listens on port $(DB_PORT) (FLIGHTDECK_DB_URL); pg_lsclusters has:"; \
	    pg_lsclusters; \
	    exit 1; \
	  elif pg_ctlcluster $$1 $$2 status >/dev/null 2>&1; then \
	    echo "the local PostgreSQL $$1/$$2 cluster is running already"; \
	  else \
	    echo "starting the local PostgreSQL $$1/$$2 cluster with pg_ctlcluster"; \
	    pg_ctlcluster --skip-systemctl-redirect $$1 $$2 start || pg_ctlcluster $$1 $$2 start; \
	  fi; \
	else \
	  echo "No PostgreSQL found. Install one of:"; \
	  echo "  - Docker (then: make db), or"; \
	  echo "  - Debian/Ubuntu: apt-get install postgresql (then: make db), or"; \
	  echo "  - any PostgreSQL 13+ and set FLIGHTDECK_DB_URL=postgresql://user@host:port/flightdeck"; \
	  exit 1; \
	fi
	@for i in $$(seq 1 30); do \
	  timeout 2 bash -c 'exec 3<>/dev/tcp/$(DB_HOST)/$(DB_PORT)' 2>/dev/null && exit 0; sleep 1; \
	done; echo "PostgreSQL did not come up at $(DB_ADDRESS)"; exit 1

# Debian's Chromium for the browser tests (dashboard, snippet), which never download a browser of their own
# (nothing to do when one is on PATH, or FLIGHTDECK_CHROMIUM names one)
browser:
	@[ -n "$$FLIGHTDECK_CHROMIUM" ] || command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "installing Debian's chromium for the browser tests"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# promtool (Debian's prometheus package) and the Prometheus text-format parser (python3-prometheus-client) for
# the metrics tests; without promtool its check is skipped, as the issue allows when it cannot be installed
metrics-tools:
	@{ command -v promtool >/dev/null && /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; } || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "installing promtool and the Prometheus text-format parser for the metrics tests"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends prometheus python3-prometheus-client \
	  || echo "could not install them: the metrics tests will say what is missing"; }

# not -q: Surefire's "Tests run: ..." summary is what CI reads
test: browser metrics-tools
	mvn -B --no-transfer-progress test

# the load generator's own GC pauses count against latency (open loop), so they are logged too
bench: build
	java -Xmx2g -Xlog:gc:file=target/bench-loadgen-gc.log -cp $(JAR) io.flightdeck.gateway.bench.BenchMain --out docs/BENCHMARKS.md $(BENCH_ARGS)

# A short run of the same benchmark that checks it works, without the targets (CI runs this).
bench-smoke: build
	java -Xmx1g -cp $(JAR) io.flightdeck.gateway.bench.BenchMain --smoke $(BENCH_ARGS)

clean:
	$(MVN) clean
