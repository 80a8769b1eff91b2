# shellcheck shell=bash
# Keyline image build: the hardening, applied inside lib/customize.sh (mmdebstrap's customize
# hook) to the root file system $1. Each guarantee is checked by test/hardware/image-static.test.ts
# (in the files) and by keyline-selfcheck at every boot (on the running system).

# Kernel command line. `ro` makes the initramfs mount the root read-only (keyline-overlay puts the
# RAM overlay on top); `nohibernate` keeps RAM off storage; init_on_free/init_on_alloc zero memory
# the kernel hands back or out (freed key pages do not linger); no network stack for IPv6 at all.
kernel_cmdline() {
  local console=$1
  printf '%s' "root=PARTUUID=$KEYLINE_DISK_ID-02 rootfstype=ext4 ro rootwait fsck.mode=skip"
  printf ' %s' "console=$console" nohibernate init_on_alloc=1 init_on_free=1 slab_nomerge \
    page_alloc.shuffle=1 ipv6.disable=1 panic=10 quiet loglevel=3 systemd.show_status=false
  printf '\n'
}

# Static files from hardware/files, with the build's placeholders filled in.
harden_files() {
  local R=$1 f
  (cd "$FILES" && find . -type f -print) | while read -r f; do
    f=${f#./}
    install -D -m "$(stat -c %a "$FILES/$f")" "$FILES/$f" "$R/$f"
    fill_placeholders "$R/$f"
  done
  echo keyline-signer >"$R/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tkeyline-signer\n' >"$R/etc/hosts"
  rm -f "$R/etc/resolv.conf"
  case "$LINK_KIND" in
  gadget)
    # USB gadget serial on the Pi's OTG port (Pi 4 USB-C, Zero 2 W data port): dwc2 then g_serial,
    # one ACM port, /dev/ttyGS0. Never a getty on it.
    printf '# Keyline: the one link, USB gadget serial (/dev/ttyGS0).\ndwc2\ng_serial\n' \
      >"$R/etc/modules-load.d/keyline-link.conf"
    printf '# Keyline: one CDC-ACM serial port, nothing else (no g_ether, no mass storage).\noptions g_serial use_acm=1 n_ports=1\n' \
      >"$R/etc/modprobe.d/keyline-gadget.conf"
    ;;
  uart) ;;
  esac
}

harden_units() {
  local R=$1 u
  # The image's own systemctl (offline in the chroot): the build host needs no systemd.
  chroot "$R" systemctl enable keyline-lockdown.service keyline-selfcheck.service \
    keyline-ceremony.service keyline-signer.service >&2
  chroot "$R" systemctl set-default multi-user.target >&2
  # No login anywhere (the console belongs to the ceremony and the daemon), no network service,
  # nothing that sleeps, swaps or keeps crash data.
  for u in getty@.service serial-getty@.service autovt@.service console-getty.service \
    container-getty@.service getty.target getty-static.service \
    systemd-logind.service systemd-firstboot.service \
    systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service \
    systemd-resolved.service systemd-timesyncd.service systemd-hostnamed.service \
    ssh.service sshd.service ssh.socket \
    swap.target sleep.target suspend.target hibernate.target hybrid-sleep.target \
    suspend-then-hibernate.target systemd-hibernate-resume@.service \
    systemd-coredump.socket systemd-pstore.service \
    apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"
  done
  rm -rf "$R/etc/systemd/system/getty.target.wants"
  find "$R/etc/systemd/system" -path '*.wants/*' -name '*getty*' -delete
}

# Every module that could bring up a network link is deleted from the image and refused by name.
harden_network_drivers() {
  local R=$1 kdir kver f name
  : >"$WORK/removed-modules.txt"
  for kdir in "$R"/lib/modules/*/; do
    kver=$(basename "$kdir")
    for f in drivers/net drivers/bluetooth drivers/nfc drivers/atm drivers/isdn \
      drivers/infiniband drivers/staging net/wireless net/mac80211 net/bluetooth net/nfc \
      net/ieee802154 net/mac802154 net/6lowpan net/can net/atm net/vmw_vsock net/wireguard \
      drivers/usb/gadget/function/usb_f_ecm.ko drivers/usb/gadget/function/usb_f_ecm_subset.ko \
      drivers/usb/gadget/function/usb_f_eem.ko drivers/usb/gadget/function/usb_f_ncm.ko \
      drivers/usb/gadget/function/usb_f_rndis.ko drivers/usb/gadget/function/u_ether.ko \
      drivers/usb/gadget/legacy/g_ether.ko drivers/usb/gadget/legacy/g_ncm.ko \
      drivers/usb/gadget/legacy/g_multi.ko drivers/usb/gadget/legacy/g_cdc.ko; do
      [ -e "$kdir/kernel/$f" ] || continue
      find "$kdir/kernel/$f" -name '*.ko*' -type f | sed "s|^$kdir/kernel/||" >>"$WORK/removed-modules.txt"
      rm -rf "${kdir:?}/kernel/$f"
    done
    chroot "$R" depmod -a "$kver"
  done
  LC_ALL=C sort -u -o "$WORK/removed-modules.txt" "$WORK/removed-modules.txt"
  {
    echo "# Keyline: generated at build time from the kernel's network, radio and Bluetooth drivers,"
    echo "# which hardware/lib/harden.sh deleted from this image. Each is refused by name as well."
    while read -r f; do
      name=${f##*/}
      name=${name%%.ko*}
      echo "install ${name//-/_} /bin/false"
    done <"$WORK/removed-modules.txt" | LC_ALL=C sort -u
  } >"$R/etc/modprobe.d/keyline-no-network-all.conf"
  rm -rf "$R"/lib/firmware/brcm "$R"/lib/firmware/cypress "$R"/lib/firmware/rtlwifi \
    "$R"/lib/firmware/rtl_bt "$R"/lib/firmware/iwlwifi* "$R"/lib/firmware/ath* "$R"/lib/firmware/mrvl \
    "$R"/lib/firmware/ti-connectivity
}

harden_accounts() {
  local R=$1
  # No password can open root (and there is no getty or sshd to type one into).
  chroot "$R" usermod --lock --expiredate 1 root
  chroot "$R" usermod --lock keyline
}

# The boot partition's contents (/boot/firmware, the FAT partition) and the kernel command line.
harden_boot() {
  local R=$1 kver
  install -d -m 0755 "$R/boot/firmware"
  case "$ARCH" in
  amd64)
    # The VM boots this kernel and initramfs directly (qemu -kernel/-initrd/-append).
    kver=$(basename "$(ls -d "$R"/lib/modules/*/ | head -n1)")
    cp "$R/boot/vmlinuz-$kver" "$R/boot/firmware/vmlinuz"
    cp "$R/boot/initrd.img-$kver" "$R/boot/firmware/initrd.img"
    kernel_cmdline "$CONSOLE_TTY,115200" >"$R/boot/firmware/cmdline.txt"
    ;;
  arm64)
    # raspi-firmware filled /boot/firmware (firmware, DTBs, config.txt, kernel, initramfs).
    [ -f "$R/boot/firmware/config.txt" ] || die "boot: expected raspi-firmware's config.txt, got none"
    if [ "$CONSOLE_TTY" = tty1 ]; then kernel_cmdline tty1; else kernel_cmdline "$CONSOLE_TTY,115200"; fi \
      >"$R/boot/firmware/cmdline.txt"
    cp "$R/boot/firmware/cmdline.txt" "$R/etc/keyline/cmdline.txt"
    # raspi-firmware regenerates config.txt from /etc/default/raspi-firmware-custom (kernel or
    # firmware upgrades, which an appliance does not get): the same settings in both places.
    {
      echo
      echo "# Keyline signer appliance"
      echo "disable_splash=1"
      echo "dtparam=audio=off"
      echo "camera_auto_detect=0"
      echo "display_auto_detect=0"
      if [ "$LINK_KIND" = uart ]; then
        echo "# the link: the GPIO UART at a fixed core clock"
        echo "enable_uart=1"
      fi
    } | tee "$R/etc/default/raspi-firmware-custom" >>"$R/boot/firmware/config.txt"
    ;;
  esac
  chroot "$R" lsinitramfs "/boot/initrd.img-$(basename "$(ls -d "$R"/lib/modules/*/ | head -n1)")" |
    LC_ALL=C sort >"$WORK/initramfs-contents.txt"
}

harden_cleanup() {
  local R=$1
  rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb \
    "$R"/var/cache/debconf/*-old "$R"/var/lib/dpkg/*-old "$R"/var/log/*.log "$R"/var/log/apt/* \
    "$R"/root/.bash_history "$R"/var/lib/dbus/machine-id "$R"/etc/ssh "$R"/var/log/journal
  # An empty machine-id: systemd makes a transient one in RAM at every boot.
  : >"$R/etc/machine-id"
}
