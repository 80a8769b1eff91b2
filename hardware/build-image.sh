#!/usr/bin/env bash
# Keyline: build the signer appliance image (hardware/README.md).
#
#   hardware/build-image.sh --arch arm64|amd64 --out <dir> [options]
#
# Steps: bundle (Node 20 + the signer daemon with its production dependencies) -> rootfs
# (mmdebstrap bookworm + kernel + hardening, lib/rootfs.sh, lib/customize.sh, lib/harden.sh) ->
# assemble (configuration, genimage, manifest, SHA-256; lib/assemble.sh).
#
# Options:
#   --arch arm64|amd64      arm64: Raspberry Pi 4/400/Zero 2 W (and Pi 3 with --link uart);
#                           amd64: the CI/VM test variant
#   --out <dir>             output directory: <name>.img, .img.sha256, .manifest.txt, boot/,
#                           rootfs/ (the tree the static test reads), work/
#   --config <file>         this device's serve configuration (signer.json), baked into the image
#   --link gadget|uart      the one serial link: USB gadget serial /dev/ttyGS0 (arm64 default)
#                           or a UART (amd64 default, /dev/ttyS1 = the VM's second serial port)
#   --link-device <path>    the UART device for --link uart (arm64 Pi 3 GPIO UART: /dev/ttyS1)
#   --baud <rate>           line rate (default 115200)
#   --console <tty>         the local console for passphrase and ceremony (arm64 default tty1,
#                           HDMI + keyboard; amd64 default ttyS0, the VM's first serial port)
#   --name <name>           image name (default keyline-signer-<arch>)
#   --mirror <url>          Debian mirror (default http://deb.debian.org/debian)
#   --security-mirror <url> (default http://deb.debian.org/debian-security)
#   --assemble-only         reuse <out>/rootfs from an earlier build: only the configuration,
#                           the state seed and the image are redone
#   --seed-state <dir>      TESTS ONLY: copy <dir> onto the state partition (keys, marker)
#   --skip-build            do not run the signer-device build (use its existing dist/)
#
# Environment: SOURCE_DATE_EPOCH (default: the commit time of HEAD), KEYLINE_CACHE_DIR (npm
# tarball cache, default <out>/cache).
set -euo pipefail
KEYLINE_T0=$SECONDS
HW=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HW/.." && pwd)
FILES=$HW/files
# shellcheck source=lib/common.sh
. "$HW/lib/common.sh"

ARCH="" OUT="" CONFIG="" LINK_KIND="" LINK_DEVICE="" LINK_BAUD=115200 CONSOLE_TTY="" NAME=""
MIRROR=http://deb.debian.org/debian SECURITY_MIRROR=http://deb.debian.org/debian-security
ASSEMBLE_ONLY=0 SEED_STATE="" SKIP_BUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
  --arch) ARCH=${2:-} && shift ;;
  --out) OUT=${2:-} && shift ;;
  --config) CONFIG=${2:-} && shift ;;
  --link) LINK_KIND=${2:-} && shift ;;
  --link-device) LINK_DEVICE=${2:-} && shift ;;
  --baud) LINK_BAUD=${2:-} && shift ;;
  --console) CONSOLE_TTY=${2:-} && shift ;;
  --name) NAME=${2:-} && shift ;;
  --mirror) MIRROR=${2:-} && shift ;;
  --security-mirror) SECURITY_MIRROR=${2:-} && shift ;;
  --assemble-only) ASSEMBLE_ONLY=1 ;;
  --seed-state) SEED_STATE=${2:-} && shift ;;
  --skip-build) SKIP_BUILD=1 ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *) die "expected an option (see --help), got $1" ;;
  esac
  shift
done

case "$ARCH" in
arm64 | amd64) ;;
*) die "expected --arch arm64|amd64, got '${ARCH}'" ;;
esac
[ -n "$OUT" ] || die "expected --out <dir>, got none"
[ "$(id -u)" = 0 ] || die "expected to run as root (mmdebstrap --mode=root, file ownership), got uid $(id -u)"
if [ "$ARCH" = arm64 ]; then
  : "${LINK_KIND:=gadget}" "${CONSOLE_TTY:=tty1}"
else
  : "${LINK_KIND:=uart}" "${CONSOLE_TTY:=ttyS0}"
fi
case "$LINK_KIND" in
gadget)
  [ -z "$LINK_DEVICE" ] || [ "$LINK_DEVICE" = /dev/ttyGS0 ] ||
    die "expected no --link-device with --link gadget (it is /dev/ttyGS0), got $LINK_DEVICE"
  LINK_DEVICE=/dev/ttyGS0
  ;;
uart) : "${LINK_DEVICE:=/dev/ttyS1}" ;;
*) die "expected --link gadget|uart, got '$LINK_KIND'" ;;
esac
[[ "$LINK_DEVICE" =~ ^/dev/tty[A-Za-z]+[0-9]+$ ]] || die "expected --link-device /dev/tty<name><n>, got $LINK_DEVICE"
[[ "$CONSOLE_TTY" =~ ^tty[A-Za-z]*[0-9]+$ ]] || die "expected --console tty<n> or tty<name><n>, got $CONSOLE_TTY"
[ "/dev/$CONSOLE_TTY" != "$LINK_DEVICE" ] || die "expected the console and the link on different ttys, got both $LINK_DEVICE"
[[ "$LINK_BAUD" =~ ^[1-9][0-9]{2,7}$ ]] || die "expected --baud <decimal rate>, got $LINK_BAUD"
[ -z "$CONFIG" ] || [ -f "$CONFIG" ] || die "expected --config to name a file, got $CONFIG"
[ -z "$SEED_STATE" ] || [ -d "$SEED_STATE" ] || die "expected --seed-state to name a directory, got $SEED_STATE"
[ -n "$CONFIG" ] && CONFIG=$(realpath "$CONFIG")
[ -n "$SEED_STATE" ] && SEED_STATE=$(realpath "$SEED_STATE")
# systemd's device unit name: /dev/ttyGS0 -> dev-ttyGS0.device (the name is [A-Za-z0-9] only).
LINK_UNIT=dev-${LINK_DEVICE#/dev/}.device
IMAGE_NAME=${NAME:-keyline-signer-$ARCH}
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
ROOTFS=$OUT/rootfs
WORK=$OUT/work
CACHE_DIR=${KEYLINE_CACHE_DIR:-$OUT/cache}
mkdir -p "$WORK" "$CACHE_DIR"

GIT_COMMIT=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$REPO" status --porcelain -- hardware packages/signer-device packages/wire-protocol 2>/dev/null | wc -l)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 1700000000)
fi
export SOURCE_DATE_EPOCH
need_cmd mmdebstrap genimage mke2fs mkdosfs mcopy debugfs e2fsck npm pnpm openssl sha256sum
# What the customize hook (a separate process) needs.
export HW FILES WORK ARCH LINK_KIND LINK_DEVICE LINK_UNIT LINK_BAUD CONSOLE_TTY KEYLINE_T0

BUILD_STAMP=$OUT/.build-settings
SETTINGS="arch=$ARCH link=$LINK_KIND $LINK_DEVICE $LINK_BAUD console=$CONSOLE_TTY"
if [ "$ASSEMBLE_ONLY" = 1 ]; then
  [ -f "$ROOTFS/usr/lib/keyline/keyline-serve" ] && [ -f "$BUILD_STAMP" ] ||
    die "expected an earlier full build in $OUT for --assemble-only, got none"
  [ "$(cat "$BUILD_STAMP")" = "$SETTINGS" ] ||
    die "expected --assemble-only with the earlier build's settings ($(cat "$BUILD_STAMP")), got $SETTINGS"
  # shellcheck disable=SC1091
  . "$WORK/bundle.env"
else
  rm -f "$BUILD_STAMP"
  step "bundle"
  bundle_node_and_signer() {
    # shellcheck source=lib/bundle.sh
    . "$HW/lib/bundle.sh"
    bundle_node
    bundle_signer
  }
  bundle_node_and_signer
  printf 'NODE_INTEGRITY=%q\nBUNDLE_SHA256=%q\n' "$NODE_INTEGRITY" "$BUNDLE_SHA256" >"$WORK/bundle.env"
  step "rootfs"
  # shellcheck source=lib/rootfs.sh
  . "$HW/lib/rootfs.sh"
  build_rootfs
  echo "$SETTINGS" >"$BUILD_STAMP"
fi
step "assemble"
# shellcheck source=lib/assemble.sh
. "$HW/lib/assemble.sh"
assemble_image
log "done in $(elapsed) s"
echo "image:    $OUT/$IMAGE_NAME.img"
echo "manifest: $OUT/$IMAGE_NAME.manifest.txt"
echo "rootfs:   $ROOTFS"
echo "sha256:   $IMAGE_SHA256"
