# shellcheck shell=bash
# Keyline image build, step "rootfs": a Debian bookworm root file system from mmdebstrap
# (variant minbase + systemd, udev, kmod, initramfs-tools, busybox, the kernel; raspi-firmware on
# arm64). The initramfs settings (MODULES=list and the short module list, the read-only-root
# overlay script) are placed by the setup hook, BEFORE the kernel package is installed: the
# kernel's postinst builds the initramfs once, small, with them. The customize hook
# (lib/customize.sh) then adds Node, the signer and the hardening while mmdebstrap still has
# /proc, /sys and /dev mounted in the tree.

# Storage, file systems and the overlay: what the initramfs needs to mount the root.
initramfs_modules() {
  echo "# Keyline initramfs modules ($ARCH): storage, ext4, the read-only-root overlay."
  echo "ext4"
  echo "overlay"
  echo "virtio_pci"
  echo "virtio_blk"
  if [ "$ARCH" = arm64 ]; then
    echo "mmc_block"
    echo "sdhci_iproc"
    echo "sdhci_pltfm"
    echo "bcm2835"
    echo "reset_raspberrypi"
    echo "gpio_raspberrypi_exp"
  else
    echo "sd_mod"
    echo "ata_piix"
    echo "ahci"
  fi
}

rootfs_packages() {
  local pkgs=systemd,systemd-sysv,udev,kmod,initramfs-tools,busybox
  case "$ARCH" in
  amd64) pkgs=$pkgs,linux-image-amd64 ;;
  arm64) pkgs=$pkgs,linux-image-arm64,raspi-firmware ;;
  esac
  echo "$pkgs"
}

# qemu-user for a foreign architecture (arm64 on an x86 host): binfmt_misc mounted and enabled.
ensure_binfmt() {
  [ "$ARCH" = "$(dpkg --print-architecture)" ] && return 0
  need_cmd update-binfmts
  [ -e /proc/sys/fs/binfmt_misc/status ] ||
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    die "rootfs: expected binfmt_misc mounted for qemu-user, got a mount error"
  update-binfmts --enable >/dev/null 2>&1 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] ||
    die "rootfs: expected the qemu-aarch64 binfmt handler (apt-get install qemu-user-static binfmt-support), got none"
}

build_rootfs() {
  local hooks=$WORK/hooks
  ensure_binfmt
  rm -rf "$ROOTFS" "$hooks" && mkdir -p "$ROOTFS" "$hooks"
  initramfs_modules >"$WORK/initramfs-modules"
  cat >"$hooks/setup.sh" <<SETUP
#!/bin/sh
set -eu
mkdir -p "\$1/etc/initramfs-tools/conf.d" "\$1/etc/initramfs-tools/hooks" \
  "\$1/etc/initramfs-tools/scripts/init-bottom" "\$1/usr/share/keyline"
cp "$FILES/etc/initramfs-tools/conf.d/keyline.conf" "\$1/etc/initramfs-tools/conf.d/"
cp "$FILES/etc/initramfs-tools/hooks/keyline" "\$1/etc/initramfs-tools/hooks/"
cp "$FILES/etc/initramfs-tools/scripts/init-bottom/keyline-overlay" "\$1/etc/initramfs-tools/scripts/init-bottom/"
cp "$WORK/initramfs-modules" "\$1/usr/share/keyline/initramfs-modules"
chmod 0755 "\$1/etc/initramfs-tools/hooks/keyline" "\$1/etc/initramfs-tools/scripts/init-bottom/keyline-overlay"
SETUP
  chmod 0755 "$hooks/setup.sh"
  log "mmdebstrap $KEYLINE_SUITE $ARCH (mirror $MIRROR)"
  # shellcheck disable=SC2016 # $1 is mmdebstrap's hook argument, expanded by its shell
  mmdebstrap --mode=root --variant=minbase --arch="$ARCH" \
    --components=main,non-free-firmware \
    --include="$(rootfs_packages)" \
    --aptopt='Acquire::Retries "3"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --setup-hook="$hooks/setup.sh"' "$1"' \
    --customize-hook="$HW/lib/customize.sh"' "$1"' \
    "$KEYLINE_SUITE" "$ROOTFS" \
    "deb $MIRROR $KEYLINE_SUITE main non-free-firmware" \
    "deb $MIRROR $KEYLINE_SUITE-updates main non-free-firmware" \
    "deb $SECURITY_MIRROR $KEYLINE_SUITE-security main non-free-firmware" >&2 ||
    die "rootfs: expected mmdebstrap to succeed, got an error"
}
