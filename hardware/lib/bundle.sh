# shellcheck shell=bash
# Keyline image build, step "bundle" (on the build host, before the root file system):
#   - Node 20: `npm pack` of node-linux-<arch>@KEYLINE_NODE_VERSION, sha512 checked against the
#     pinned integrity, then only bin/node and the licence kept;
#   - the signer daemon: built (unless --skip-build), then `pnpm deploy --prod` of
#     @keyline/signer-device with its production dependencies, run in a throw-away copy of the
#     workspace manifests so that the repository's lockfile and node_modules are never touched.
# Output: $WORK/node/{bin/node,LICENSE} and $WORK/signer/ (package + node_modules).

bundle_node() {
  local pkg=${KEYLINE_NODE_PACKAGE[$ARCH]} want=${KEYLINE_NODE_INTEGRITY[$ARCH]}
  local cache=$CACHE_DIR/npm tgz got
  mkdir -p "$cache"
  tgz=$cache/$pkg-$KEYLINE_NODE_VERSION.tgz
  if [ ! -s "$tgz" ]; then
    log "downloading $pkg@$KEYLINE_NODE_VERSION (npm pack)"
    (cd "$cache" && npm pack --silent "$pkg@$KEYLINE_NODE_VERSION" >/dev/null) ||
      die "bundle/node: expected npm pack $pkg@$KEYLINE_NODE_VERSION to succeed, got an error"
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  [ "$got" = "$want" ] || die "bundle/node: expected $pkg tarball $want, got $got"
  rm -rf "$WORK/node" && mkdir -p "$WORK/node/bin"
  tar -xzf "$tgz" -C "$WORK" package/bin/node package/LICENSE 2>/dev/null ||
    tar -xzf "$tgz" -C "$WORK" package/bin/node
  mv "$WORK/package/bin/node" "$WORK/node/bin/node"
  [ -f "$WORK/package/LICENSE" ] && mv "$WORK/package/LICENSE" "$WORK/node/LICENSE"
  rm -rf "$WORK/package"
  chmod 0755 "$WORK/node/bin/node"
  NODE_INTEGRITY=$got
}

bundle_signer() {
  local ws=$WORK/deploy-ws p
  if [ "$SKIP_BUILD" = 0 ]; then
    log "building @keyline/signer-device and its workspace dependencies"
    (cd "$REPO" && pnpm --filter '@keyline/signer-device...' run build) >&2 ||
      die "bundle/signer: expected the signer-device build to succeed, got an error"
  fi
  for p in signer-device wire-protocol; do
    [ -d "$REPO/packages/$p/dist" ] || die "bundle/signer: expected packages/$p/dist (build first or drop --skip-build), got none"
  done
  # A copy of the workspace manifests and lockfile: pnpm deploy rewrites the lockfile it runs in.
  rm -rf "$ws" "$WORK/signer" && mkdir -p "$ws/packages"
  cp "$REPO/package.json" "$REPO/pnpm-workspace.yaml" "$REPO/pnpm-lock.yaml" "$ws/"
  for p in "$REPO"/packages/*/; do
    p=${p%/}
    mkdir -p "$ws/packages/${p##*/}"
    cp "$p/package.json" "$ws/packages/${p##*/}/"
  done
  for p in signer-device wire-protocol; do
    (cd "$REPO/packages/$p" && cp -a dist "$ws/packages/$p/" &&
      for f in bin docs README.md PROTOCOL.md; do [ -e "$f" ] && cp -a "$f" "$ws/packages/$p/"; done; true)
  done
  log "deploying @keyline/signer-device --prod"
  (cd "$ws" && pnpm --filter @keyline/signer-device deploy --prod --legacy --prefer-offline \
    --config.confirmModulesPurge=false "$WORK/signer") >"$WORK/deploy.log" 2>&1 ||
    die "bundle/signer: expected pnpm deploy to succeed, got an error (see $WORK/deploy.log)"
  # serialport ships prebuilt bindings for every platform: keep only the image's.
  local pre
  for pre in "$WORK"/signer/node_modules/.pnpm/@serialport+bindings-cpp@*/node_modules/@serialport/bindings-cpp/prebuilds/*; do
    [ "${pre##*/}" = "${KEYLINE_NODE_PLATFORM[$ARCH]}" ] || rm -rf "$pre"
  done
  [ -n "$(ls "$WORK"/signer/node_modules/.pnpm/@serialport+bindings-cpp@*/node_modules/@serialport/bindings-cpp/prebuilds/ 2>/dev/null)" ] ||
    die "bundle/signer: expected serialport's ${KEYLINE_NODE_PLATFORM[$ARCH]} prebuild, got none"
  rm -f "$WORK/signer/node_modules/.modules.yaml" "$WORK/signer/node_modules/.pnpm/lock.yaml"
  find "$WORK/signer" -name '*.map' -delete
  # Launcher shims (they name the build host's paths); the daemon is started by path.
  find "$WORK/signer" -type d -name .bin -prune -exec rm -rf {} +
  rm -rf "$ws"
  # The production dependency set, for the manifest: every name@version pnpm placed.
  (cd "$WORK/signer/node_modules/.pnpm" && ls -1 | grep -v '^node_modules$' | sort) >"$WORK/signer-packages.txt"
  BUNDLE_SHA256=$(cd "$WORK/signer" && find . -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
