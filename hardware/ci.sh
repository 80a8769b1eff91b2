#!/usr/bin/env bash
# Keyline CI: install the image tools, build the amd64 signer image, check it statically
# (test/hardware/image-static.test.ts). With KEYLINE_VM_TEST=1 it also boots the image in
# qemu-system-x86_64 and talks to the daemon over the VM's serial port (hardware/test-image.sh).
#
#   hardware/ci.sh                       # as root (apt-get, mmdebstrap --mode=root)
#
# Environment: KEYLINE_IMAGE_OUT (default /tmp/keyline-image-amd64), KEYLINE_SKIP_BUILD=1 (the
# signer-device dist/ is already built, e.g. by `pnpm build` earlier in the same CI run),
# KEYLINE_VM_TEST=1.
set -euo pipefail
T0=$SECONDS
HW=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HW/.." && pwd)
OUT=${KEYLINE_IMAGE_OUT:-/tmp/keyline-image-amd64}

[ "$(id -u)" = 0 ] || {
  echo "hardware/ci.sh: expected to run as root (apt-get, mmdebstrap --mode=root), got uid $(id -u)" >&2
  exit 1
}
# The Debian packages the build and the tests need (the list is in hardware/README.md too).
APT_PACKAGES=(mmdebstrap genimage dosfstools mtools e2fsprogs openssl ca-certificates)
if [ "${KEYLINE_VM_TEST:-0}" = 1 ]; then APT_PACKAGES+=(qemu-system-x86); fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "hardware/ci.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD_ARGS=(--arch amd64 --out "$OUT")
if [ "${KEYLINE_SKIP_BUILD:-0}" = 1 ]; then BUILD_ARGS+=(--skip-build); fi
"$HW/build-image.sh" "${BUILD_ARGS[@]}"
echo "hardware/ci.sh: image built in $((SECONDS - T0)) s"

cd "$REPO"
KEYLINE_IMAGE_DIR=$OUT npx vitest run test/hardware/image-static.test.ts
if [ "${KEYLINE_VM_TEST:-0}" = 1 ]; then
  KEYLINE_IMAGE_OUT=$OUT "$HW/test-image.sh"
fi
echo "hardware/ci.sh: done in $((SECONDS - T0)) s"
