#!/bin/sh
# Builds httpsonly.wasm with the AssemblyScript compiler pinned in
# package-lock.json (install it first: npm ci). Usage: build.sh [out.wasm]
set -eu
cd "$(dirname "$0")"
out="${1:-build/httpsonly.wasm}"
if [ ! -x node_modules/.bin/asc ]; then
	echo "build.sh: the AssemblyScript compiler is not installed; run: npm ci --prefix $(pwd)" >&2
	exit 1
fi
exec node_modules/.bin/asc assembly/index.ts --outFile "$out" --optimize \
	--use abort=assembly/index/abortPlugin
