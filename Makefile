# Patchbay. `make test` installs what the tests need (sipp) and runs them
# with the race detector; `make run` starts a switch on ./data.
GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-deps vet bench load

run:
	$(GO) run ./cmd/patchbay

test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

# sipp (Debian package sip-tester) is the real SIP peer of the end-to-end tests.
# The AssemblyScript compiler (npm, pinned by its package-lock.json) builds the
# non-Go example plugin in examples/plugins/httpsonly.
test-deps:
	@command -v sipp >/dev/null 2>&1 || { \
		echo "installing sip-tester (sipp)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq sip-tester; }
	@[ -x examples/plugins/httpsonly/node_modules/.bin/asc ] || { \
		command -v npm >/dev/null 2>&1 || { echo "installing npm"; \
			$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm; }; \
		echo "installing the AssemblyScript compiler (npm ci)"; \
		npm ci --prefix examples/plugins/httpsonly --no-audit --no-fund; }

vet:
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
