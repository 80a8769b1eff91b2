#!/usr/bin/env bash
# Keyline: boot the amd64 signer image in qemu-system-x86_64 (no KVM) and talk to the daemon
# inside it over the VM's serial port (test/hardware/vm-boot.test.ts). `pnpm test:image`.
# Builds the image first when KEYLINE_IMAGE_OUT holds none. As root (mmdebstrap, re-assembly).
set -euo pipefail
HW=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HW/.." && pwd)
OUT=${KEYLINE_IMAGE_OUT:-/tmp/keyline-image-amd64}
command -v qemu-system-x86_64 >/dev/null || {
  echo "hardware/test-image.sh: expected qemu-system-x86_64 (apt-get install qemu-system-x86), got none" >&2
  exit 1
}
if [ ! -f "$OUT/rootfs/usr/lib/keyline/keyline-serve" ]; then
  ARGS=(--arch amd64 --out "$OUT")
  if [ "${KEYLINE_SKIP_BUILD:-0}" = 1 ]; then ARGS+=(--skip-build); fi
  "$HW/build-image.sh" "${ARGS[@]}"
fi
cd "$REPO"
KEYLINE_VM_TEST=1 KEYLINE_IMAGE_DIR=$OUT npx vitest run test/hardware/vm-boot.test.ts
