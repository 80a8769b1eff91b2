#!/usr/bin/env bash
# Keyline image build: mmdebstrap's customize hook. $1 = the root file system, with /proc, /sys
# and /dev mounted by mmdebstrap. Adds Node and the signer, then applies the hardening
# (lib/harden.sh) and writes the package list for the manifest.
set -euo pipefail
R=$1
# shellcheck source=common.sh
. "$HW/lib/common.sh"
# shellcheck source=harden.sh
. "$HW/lib/harden.sh"

log "customize: user, Node $KEYLINE_NODE_VERSION, signer bundle"
chroot "$R" useradd --system --user-group --no-create-home --home-dir /nonexistent \
  --shell /usr/sbin/nologin keyline
install -d -m 0755 "$R/usr/lib/keyline"
cp -a "$WORK/node" "$R/usr/lib/keyline/node"
cp -a "$WORK/signer" "$R/usr/lib/keyline/signer"
chown -R root:root "$R/usr/lib/keyline"
chmod -R go-w "$R/usr/lib/keyline"
# The state partition's tree: only the keyline user may enter it.
install -d -m 0700 -o root -g root "$R/var/lib/keyline"
chroot "$R" chown keyline:keyline /var/lib/keyline
chroot "$R" /usr/lib/keyline/node/bin/node --version >"$WORK/node-version.txt"

harden_files "$R"
harden_units "$R"
harden_network_drivers "$R"
harden_accounts "$R"
harden_boot "$R"

chroot "$R" dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\n' | LC_ALL=C sort >"$WORK/debian-packages.txt"
harden_cleanup "$R"
