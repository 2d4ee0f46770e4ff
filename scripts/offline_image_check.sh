#!/usr/bin/env bash
# docs/deploy.md's offline path for the image, for real: the image docker-check.sh built (run
# it first with KEEP_IMAGE=1) is saved and gzipped as for a USB stick, removed, loaded back from
# the file, and run; the loaded image must serve /healthz, the circuit page and the course's
# (x + y) * z. Uses docker-check.sh's podman storage (DC_HOME, /tmp/docker-check by default).
# Prints PASS or FAIL; exits non-zero on failure. Root only, as docker-check.sh.
#
#   KEEP_IMAGE=1 bash ../shared/tools/docker-check.sh . && bash scripts/offline_image_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DC_HOME=${DC_HOME:-/tmp/docker-check}
RUNTIME=${RUNTIME:-runc}
PORT=${PORT:-8000}
if [ -z "${STORAGE_DRIVER:-}" ]; then # as docker-check.sh: overlay cannot sit on overlayfs
  case "$(stat -f -c %T "$DC_HOME")" in overlayfs) STORAGE_DRIVER=vfs ;; *) STORAGE_DRIVER=overlay ;; esac
fi
pm() {
  podman --root "$DC_HOME/storage" --runroot "$DC_HOME/runroot" \
    --storage-driver "$STORAGE_DRIVER" --cgroup-manager cgroupfs --events-backend file \
    --tmpdir "$DC_HOME/runroot/libpod-tmp" --runtime "$RUNTIME" "$@"
}
# the tag docker-check.sh gives this folder's image
TAG="localhost/dockercheck-$(basename "$PWD" | tr -c 'a-zA-Z0-9_.\n-' '-' | tr 'A-Z' 'a-z'):test"
NAME="bpc-offline-$$"
carry=$(mktemp -d "$DC_HOME/tmp/offline.XXXXXX")
cleanup() {
  pm rm -f -t 3 "$NAME" >/dev/null 2>&1 || true
  pm rmi -f "$TAG" >/dev/null 2>&1 || true
  rm -rf "$carry"
}
trap cleanup EXIT
fail() { echo "offline image check: $*" >&2; echo "FAIL"; exit 1; }

pm image exists "$TAG" || fail "no image $TAG: run KEEP_IMAGE=1 docker-check.sh . first"
# the machine with a network: save and gzip (podman writes progress beside a piped archive,
# so the archive goes to a file first; docker save | gzip in docs/deploy.md is the same bytes)
pm save -q -o "$carry/backprop-circuits.tar" "$TAG" >/dev/null
gzip "$carry/backprop-circuits.tar"
echo "saved $TAG: $(du -h "$carry/backprop-circuits.tar.gz" | cut -f1) gzipped"
# the classroom: nothing but the file
pm rmi -f "$TAG" >/dev/null
pm image exists "$TAG" && fail "the image is still there after rmi"
# (docker load reads the .tar.gz as it is; this podman wants the tar)
gunzip "$carry/backprop-circuits.tar.gz"
pm load -q -i "$carry/backprop-circuits.tar" >/dev/null || fail "podman load failed"
pm image exists "$TAG" || fail "podman load did not bring back $TAG"

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then fail "something listens on $PORT already"; fi
nofile=$(ulimit -Hn); [ "$nofile" = unlimited ] && nofile=1048576
nproc=$(ulimit -Hu); pidmax=$(cat /proc/sys/kernel/pid_max)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pidmax" ]; then nproc=$pidmax; fi
# (no systemd here for podman's healthcheck timers: its complaint about that is left out)
pm run -d --name "$NAME" --network host --ulimit "nofile=$nofile:$nofile" \
  --ulimit "nproc=$nproc:$nproc" --health-interval disable "$TAG" >/dev/null 2>"$carry/run.err" \
  || { grep -v 'systemd connection' "$carry/run.err" >&2; fail "the loaded image did not start"; }

base="http://127.0.0.1:$PORT"
for _ in $(seq 180); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null || fail "/healthz did not answer"
# the page is read whole first: with pipefail, `curl | grep -q` fails when grep stops reading at
# its match while curl still writes (curl exit 23), though the page loaded
page=$(curl -fsS "$base/") || fail "the circuit page did not load"
grep -q "Backprop Circuits" <<<"$page" || fail "the circuit page did not load"
answer=$(curl -fsS "$base/api/v1/circuits/evaluate" -H 'content-type: application/json' \
  -d '{"expression": "(x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}}')
echo "$answer" | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert a["output"]["value"] == -12.0 and a["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}, a
' || fail "the loaded image answered (x + y) * z wrongly"
echo "the loaded image serves /healthz, the page and (x + y) * z = -12 with gradients -4, -4, 3"
echo "PASS"
