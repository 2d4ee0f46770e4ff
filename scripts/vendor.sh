#!/usr/bin/env bash
# Vendors pinned browser libraries from the npm registry into static/vendor/<pkg>/, unmodified, with their LICENSE.
# Usage: bash scripts/vendor.sh   (needs npm; writes static/vendor/VERSIONS.txt)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# package@version  target-dir  files (relative to the package root)
vendor() {
  local spec="$1" dir="$2"
  shift 2
  mkdir -p "$TMP/$dir"
  (cd "$TMP/$dir" && npm pack "$spec" --silent >/dev/null && tar xzf ./*.tgz)
  rm -rf "${VENDOR:?}/$dir"
  mkdir -p "$VENDOR/$dir"
  for f in "$@" LICENSE; do
    cp "$TMP/$dir/package/$f" "$VENDOR/$dir/"
  done
  local integrity
  integrity="$(npm view "$spec" dist.integrity)"
  echo "$spec $dir $integrity" >>"$TMP/VERSIONS.txt"
}

# d3 (full UMD bundle; d3-zoom for the circuit page, everything for the landscape page)
vendor d3@7.9.2 d3 dist/d3.min.js
# dagre: layered (Sugiyama) layout of the circuit, as an ES module with no imports
vendor @dagrejs/dagre@3.1.3 dagre dist/dagre.esm.js dist/dagre.esm.js.map dist/dagre.esm.js.LEGAL.txt

{
  echo "# Vendored from the npm registry by scripts/vendor.sh (API-docs bundles: scripts/vendor_docs.sh); files are unmodified."
  echo "# package@version directory integrity"
  cat "$TMP/VERSIONS.txt"
} >"$VENDOR/VERSIONS.txt"
echo "vendored into $VENDOR:"
cat "$VENDOR/VERSIONS.txt"
