# shellcheck shell=bash
# Keyline image build, step "assemble": the device configuration and (tests only) a seeded state
# partition go into the tree, every timestamp is clamped to SOURCE_DATE_EPOCH, then genimage
# writes the flashable image (MBR: FAT boot, ext4 root, ext4 state) without loop devices, and the
# manifest and SHA-256 are written next to it.

assemble_config() {
  local dst=$ROOTFS/etc/keyline/signer.json
  if [ -n "$CONFIG" ]; then
    "$WORK/node/bin/node" -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$CONFIG" ||
      die "assemble: expected --config to be a JSON file, got $CONFIG"
    install -m 0644 -o root -g root "$CONFIG" "$dst"
  elif [ -f "$dst" ]; then
    log "keeping the configuration already in the tree"
  else
    log "WARNING: no --config: the image holds no device configuration and will not serve"
  fi
}

# Tests only: files placed on the state partition (e.g. keys/device-key.json and the
# provision-pending marker), owned by the keyline user, 0700 directories and 0600 files.
assemble_state() {
  local st=$ROOTFS/var/lib/keyline uid gid
  uid=$(awk -F: '$1 == "keyline" { print $3 }' "$ROOTFS/etc/passwd")
  gid=$(awk -F: '$1 == "keyline" { print $3 }' "$ROOTFS/etc/group")
  find "$st" -mindepth 1 -delete
  # The partition's own root directory belongs to the keyline user too (genimage root-owner).
  STATE_OWNER=$uid:$gid
  mkdir -p "$st/keys" "$st/state" "$st/export"
  if [ -n "$SEED_STATE" ]; then
    log "seeding the state partition from $SEED_STATE (TESTS ONLY)"
    cp -a "$SEED_STATE/." "$st/"
  fi
  chown -R "$uid:$gid" "$st"
  find "$st" -type d -exec chmod 0700 {} +
  find "$st" -type f -exec chmod 0600 {} +
}

# ext4 root: no journal (it is never written), fixed UUID and hash seed, timestamps fixed.
# mke2fs keeps only the last -E: ours repeats genimage's own (root_owner, lazy init off). The hash
# seed cannot be changed after mke2fs -d (the indexed directories would no longer be found).
# mke2fs 1.47.0 -d copies each file's ctime and atime (the build's clock) and stamps crtime with
# "now": one debugfs pass per file system sets them to SOURCE_DATE_EPOCH, so that two builds of
# the same tree give the same bytes.
write_time_fixups() {
  local ts=$1 base=$2 out=$3
  {
    echo "set_current_time $ts"
    (cd "$base" && find . -mindepth 1 \( -path ./boot/firmware -o -path ./var/lib/keyline \) -print -prune -o -print) |
      sed 's|^\.||' | LC_ALL=C sort | while read -r p; do
      printf 'sif "%s" ctime %s\nsif "%s" atime %s\nsif "%s" crtime %s\n' "$p" "$ts" "$p" "$ts" "$p" "$ts"
    done
    printf 'sif / ctime %s\nsif / atime %s\nsif / crtime %s\n' "$ts" "$ts" "$ts"
  } >"$out"
}

write_genimage_config() {
  local root_kib state_kib boot_kib ts
  ts=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)
  write_time_fixups "$ts" "$ROOTFS" "$WORK/times-root.debugfs"
  write_time_fixups "$ts" "$ROOTFS/var/lib/keyline" "$WORK/times-state.debugfs"
  root_kib=$(du -sk --exclude=./boot/firmware --exclude=./var/lib/keyline "$ROOTFS" | cut -f1)
  root_kib=$((root_kib * 13 / 10 + 65536))
  boot_kib=$(du -sk "$ROOTFS/boot/firmware" | cut -f1)
  boot_kib=$((boot_kib + 32768))
  [ "$boot_kib" -lt 131072 ] && boot_kib=131072
  state_kib=65536
  cat >"$WORK/genimage.cfg" <<CFG
image boot.vfat {
  vfat {
    label = "KLBOOT"
    extraargs = "-i $KEYLINE_DISK_ID"
  }
  mountpoint = "/boot/firmware"
  size = ${boot_kib}K
  temporary = true
}
image root.ext4 {
  ext4 {
    label = "klroot"
    use-mke2fs = true
    features = "^has_journal"
    fs-timestamp = "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)"
    extraargs = "-U 4b4c5331-0002-4000-8000-000000000002 -E hash_seed=4b4c5331-0002-4000-8000-0000000000a2,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0 -m 0"
  }
  size = ${root_kib}K
  temporary = true
  exec-post = "debugfs -w -f $WORK/times-root.debugfs \\"\$IMAGEOUTFILE\\" >/dev/null"
}
image state.ext4 {
  ext4 {
    label = "klstate"
    use-mke2fs = true
    fs-timestamp = "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S)"
    extraargs = "-U 4b4c5331-0003-4000-8000-000000000003 -E hash_seed=4b4c5331-0003-4000-8000-0000000000a3,root_owner=$STATE_OWNER,lazy_itable_init=0,lazy_journal_init=0 -m 0"
  }
  mountpoint = "/var/lib/keyline"
  size = ${state_kib}K
  temporary = true
  exec-post = "debugfs -w -f $WORK/times-state.debugfs \\"\$IMAGEOUTFILE\\" >/dev/null"
}
image $IMAGE_NAME.img {
  hdimage {
    partition-table-type = "mbr"
    disk-signature = 0x$KEYLINE_DISK_ID
  }
  partition boot {
    partition-type = 0x0C
    bootable = true
    image = "boot.vfat"
    offset = 4M
  }
  partition root {
    partition-type = 0x83
    image = "root.ext4"
  }
  partition state {
    partition-type = 0x83
    image = "state.ext4"
  }
}
CFG
}

write_manifest() {
  local m=$1 extra=${2:-}
  {
    echo "# Keyline signer appliance image manifest (hardware/build-image.sh)"
    echo "image=$IMAGE_NAME.img"
    echo "arch=$ARCH"
    echo "suite=$KEYLINE_SUITE"
    echo "mirror=$MIRROR"
    echo "security_mirror=$SECURITY_MIRROR"
    echo "source_date_epoch=$SOURCE_DATE_EPOCH"
    echo "git_commit=$GIT_COMMIT"
    echo "git_dirty_files=$GIT_DIRTY"
    echo "link=$LINK_KIND $LINK_DEVICE $LINK_BAUD"
    echo "console=$CONSOLE_TTY"
    echo "node=$KEYLINE_NODE_VERSION ${KEYLINE_NODE_PACKAGE[$ARCH]} $NODE_INTEGRITY"
    echo "node_version_in_image=$(cat "$WORK/node-version.txt")"
    echo "signer_bundle_sha256=$BUNDLE_SHA256"
    echo "config_sha256=$( [ -f "$ROOTFS/etc/keyline/signer.json" ] && sha256sum <"$ROOTFS/etc/keyline/signer.json" | cut -d' ' -f1 || echo none)"
    echo "seeded_state=$( [ -n "$SEED_STATE" ] && echo "yes (TEST IMAGE)" || echo no)"
    echo "removed_kernel_modules=$(wc -l <"$WORK/removed-modules.txt")"
    echo "kernel_cmdline=$(cat "$ROOTFS/boot/firmware/cmdline.txt")"
    [ -z "$extra" ] || echo "$extra"
    echo
    echo "[debian-packages]"
    cat "$WORK/debian-packages.txt"
    echo
    echo "[signer-bundle]"
    cat "$WORK/signer-packages.txt"
  } >"$m"
}

assemble_image() {
  assemble_config
  assemble_state
  install -d -m 0755 "$ROOTFS/usr/share/keyline"
  write_manifest "$ROOTFS/usr/share/keyline/manifest.txt"
  cp "$WORK/removed-modules.txt" "$ROOTFS/usr/share/keyline/removed-modules.txt"
  cp "$WORK/initramfs-contents.txt" "$ROOTFS/usr/share/keyline/initramfs-contents.txt"
  # Every timestamp in the tree: SOURCE_DATE_EPOCH (file contents decide the image, not the clock).
  find "$ROOTFS" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
  write_genimage_config
  rm -rf "$WORK/genimage-tmp" "$WORK/genimage-in" "$OUT/$IMAGE_NAME.img"
  mkdir -p "$WORK/genimage-in"
  log "genimage"
  E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH genimage --config "$WORK/genimage.cfg" --rootpath "$ROOTFS" --tmppath "$WORK/genimage-tmp" \
    --inputpath "$WORK/genimage-in" --outputpath "$OUT" >"$WORK/genimage.log" 2>&1 ||
    die "assemble: expected genimage to succeed, got an error (see $WORK/genimage.log)"
  rm -rf "$WORK/genimage-tmp"
  IMAGE_SHA256=$(sha256sum "$OUT/$IMAGE_NAME.img" | cut -d' ' -f1)
  (cd "$OUT" && sha256sum "$IMAGE_NAME.img" >"$IMAGE_NAME.img.sha256")
  write_manifest "$OUT/$IMAGE_NAME.manifest.txt" "image_sha256=$IMAGE_SHA256"
  # The boot files beside the image, for the VM test's direct kernel boot.
  rm -rf "$OUT/boot" && cp -a "$ROOTFS/boot/firmware" "$OUT/boot"
}
