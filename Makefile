# Patchbay. `make test` installs what the tests need (sipp) and runs them
# with the race detector; `make run` starts a switch on ./data.
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-deps vet bench load generate check-generated pgo

run:
	$(GO) run ./cmd/patchbay

test: test-deps check-generated
	$(GO) vet ./...
	# One package at a time: several packages measure budgets and deadlines
	# (wasm sandbox, SIP timers), which a 2-core machine running them all at
	# once under -race would blur.
	$(GO) test -race -count=1 -p 1 -timeout 20m ./...

# sipp (Debian package sip-tester) is the real SIP peer of the end-to-end tests.
# espeak-ng (Debian package espeak-ng) is the text-to-speech engine switch/tts
# tests <Say> with.
# The AssemblyScript compiler (npm, pinned by its package-lock.json) builds the
# non-Go example plugin in examples/plugins/httpsonly.
test-deps:
	@command -v sipp >/dev/null 2>&1 || { \
		echo "installing sip-tester (sipp)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq sip-tester; }
	@command -v espeak-ng >/dev/null 2>&1 || { \
		echo "installing espeak-ng"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq espeak-ng; }
	@[ -x examples/plugins/httpsonly/node_modules/.bin/asc ] || { \
		command -v npm >/dev/null 2>&1 || { echo "installing npm"; \
			$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }; \
		echo "installing the AssemblyScript compiler (npm ci)"; \
		npm ci --prefix examples/plugins/httpsonly --no-audit --no-fund; }

# The RCML handler guest, plugins/rcml/guest/embedded/rcml.wasm, is generated
# and committed: regenerate it after changing plugins/rcml or upgrading Go.
generate:
	$(GO) generate ./plugins/...

# The guest is built with profile-guided optimisation from
# plugins/rcml/guest/default.pgo, a CPU profile of a native parse
# (BenchmarkHandle there). Remake it after changing the parser's hot paths,
# then run make generate; both files are committed.
pgo:
	$(GO) test -run '^$$' -bench BenchmarkHandle -benchtime 5s -o /tmp/patchbay-guest.test \
		-cpuprofile plugins/rcml/guest/default.pgo ./plugins/rcml/guest/

# CI: the committed module must be what the sources and this Go build.
check-generated: generate
	@git diff --exit-code --stat -- plugins/rcml/guest/embedded/rcml.wasm || { \
		echo "plugins/rcml/guest/embedded/rcml.wasm differs from what 'make generate' builds with $$($(GO) env GOVERSION): run it and commit the result." >&2; exit 1; }

vet:
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
