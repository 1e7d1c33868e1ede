#!/usr/bin/env bash
# Build the pinned OPA and Regal binaries into .tools/bin (git-ignored).
# Idempotent: a binary that already reports the pinned version is kept, so a re-run takes well under a second.
set -euo pipefail

OPA_VERSION="v1.22.2"
REGAL_VERSION="v0.39.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.tools/bin"
mkdir -p "$bin_dir"

if ! command -v go >/dev/null 2>&1; then
  echo "install-tools: 'go' is not on PATH; OPA and Regal are built from source with 'go install' (Go >= 1.24)." >&2
  exit 1
fi

export GOBIN="$bin_dir"
export GOFLAGS="-trimpath"
export CGO_ENABLED=0

# reports NAME VERSION [LINE]: whether the binary's `version` output names VERSION (and holds LINE).
reports() {
  local name="$1" version="$2" line="${3:-}" output
  # Read the whole output first: `grep -q` quitting early would SIGPIPE the binary and, under pipefail,
  # make a good binary look wrong (and trigger a rebuild).
  output="$("$bin_dir/$name" version 2>/dev/null)" || return 1
  grep -qw "v\?${version#v}" <<<"$output" && grep -qF "$line" <<<"$output"
}

# ensure NAME VERSION BUILDER [LINE]: keep a binary that already reports VERSION (and LINE), else run BUILDER
# and verify.
ensure() {
  local name="$1" version="$2" builder="$3" line="${4:-}"
  if [ -x "$bin_dir/$name" ] && reports "$name" "$version" "$line"; then
    return 0
  fi
  echo "install-tools: building $name $version (first run takes a few minutes)" >&2
  "$builder"
  reports "$name" "$version" "$line" || {
    echo "install-tools: $bin_dir/$name does not report version $version${line:+ and '$line'}" >&2
    exit 1
  }
}

# With OPA's Wasm engine (wazero, pure Go: no cgo), so that the Rego tests also run on the Wasm target that
# engine: wasm evaluates (opa test --target wasm).
build_opa() {
  go install -tags opa_wasm "github.com/open-policy-agent/opa@$OPA_VERSION"
}

# `go install regal@version` aborts because the module proxy refuses regal's version list (used only for a
# deprecation notice), so build the same pinned module from the module cache instead.
build_regal() {
  local src
  src="$(cd "$(mktemp -d)" && go mod download -json "github.com/open-policy-agent/regal@$REGAL_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$src" ] || { echo "install-tools: could not download regal $REGAL_VERSION" >&2; exit 1; }
  (cd "$src" && go build -o "$bin_dir/regal" \
    -ldflags "-X github.com/open-policy-agent/regal/pkg/version.Version=$REGAL_VERSION" .)
}

ensure opa "$OPA_VERSION" build_opa "WebAssembly: available"
ensure regal "$REGAL_VERSION" build_regal

# The OASIS SARIF 2.1.0 JSON schema (errata01), which the tests validate `check --format sarif` against.
# No plain download works here, so take it from a pinned Go module that embeds it verbatim (public domain).
SARIF_MODULE="github.com/owenrumney/go-sarif/v3@v3.3.1"
sarif_schema="$root/.tools/sarif-schema-2.1.0.json"
if [ ! -s "$sarif_schema" ]; then
  src="$(cd "$(mktemp -d)" && go mod download -json "$SARIF_MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$src" ] || { echo "install-tools: could not download $SARIF_MODULE" >&2; exit 1; }
  sed -n '/^const schema = `/,/^`$/p' "$src/pkg/report/v210/sarif/schema.go" | sed '1s/^const schema = `//; $d' \
    > "$sarif_schema.tmp"
  python3 -c 'import json, sys; assert "SARIF" in json.load(open(sys.argv[1]))["title"]' "$sarif_schema.tmp"
  mv "$sarif_schema.tmp" "$sarif_schema"
fi
