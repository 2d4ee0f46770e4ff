#!/usr/bin/env bash
# Vendors the API-docs browser bundles (Swagger UI, ReDoc) unmodified from npm into
# static/vendor/, so /docs and /redoc work offline under the strict CSP. Pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."

SWAGGER_UI_DIST=5.35.0
REDOC=2.5.0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { # fetch <package> <version> -> unpacked into $work/<package>/package
  mkdir -p "$work/$1"
  (cd "$work/$1" && npm pack --silent "$1@$2" >/dev/null && tar -xzf ./*.tgz)
}

fetch swagger-ui-dist "$SWAGGER_UI_DIST"
dest=static/vendor/swagger-ui-dist
rm -rf "$dest" && mkdir -p "$dest"
for f in LICENSE NOTICE package.json swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt \
  swagger-ui.css favicon-32x32.png; do
  cp "$work/swagger-ui-dist/package/$f" "$dest/"
done

fetch redoc "$REDOC"
dest=static/vendor/redoc
rm -rf "$dest" && mkdir -p "$dest"
for f in LICENSE package.json bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt; do
  cp "$work/redoc/package/$f" "$dest/"
done
echo "vendored swagger-ui-dist@$SWAGGER_UI_DIST redoc@$REDOC"
