/**
 * The signer image, checked statically: the root file system hardware/build-image.sh left in
 * `$KEYLINE_IMAGE_DIR/rootfs` against every guarantee of issue 7 §2 (hardware/README.md,
 * "What the image guarantees"), one test per guarantee. Skipped unless KEYLINE_IMAGE_DIR names
 * the output directory of a build made in this run (hardware/ci.sh sets it).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORBIDDEN_PACKAGES, LOCAL_LISTEN_KEYS, NETWORK_MODULES } from './image-expectations.js';
import { ImageTree, parseManifest, type SystemdUnit } from './image-tree.js';

const OUT = process.env.KEYLINE_IMAGE_DIR ?? '';
const SKIP =
  OUT === ''
    ? 'skipped: set KEYLINE_IMAGE_DIR=<--out dir of hardware/build-image.sh> (hardware/ci.sh builds the amd64 image and sets it)'
    : '';

const SIGNER = 'keyline-signer.service';
const CEREMONY = 'keyline-ceremony.service';

describe.skipIf(SKIP !== '')(`signer image, static checks ${SKIP}`, () => {
  const tree = new ImageTree(join(OUT, 'rootfs'));
  const manifestText = (): string => tree.read('/usr/share/keyline/manifest.txt');
  const manifest = () => parseManifest(manifestText());
  const settings = () => {
    const link = (manifest().fields.get('link') ?? '').split(' ');
    return {
      kind: link[0] ?? '',
      device: link[1] ?? '',
      console: manifest().fields.get('console') ?? '',
    };
  };
  const signer = (): SystemdUnit => tree.unit(SIGNER);
  const cmdline = (): string[] => tree.read('/boot/firmware/cmdline.txt').trim().split(/\s+/);
  const packages = (): Map<string, string> =>
    new Map(
      (manifest().sections.get('debian-packages') ?? []).map((l) => {
        const [name, version] = l.split('\t');
        return [name ?? '', version ?? ''];
      }),
    );

  it('was built in this run: the rootfs, the image and the manifest exist', () => {
    expect(existsSync(join(OUT, 'rootfs', 'usr', 'lib', 'keyline', 'keyline-serve'))).toBe(true);
    expect(tree.exists('/usr/share/keyline/manifest.txt')).toBe(true);
  });

  describe('no network', () => {
    it('refuses every Wi-Fi, Bluetooth and Ethernet module by name (install /bin/false)', () => {
      const installs = tree.modprobeInstall();
      for (const mod of NETWORK_MODULES)
        expect(`${mod}: ${installs.get(mod)}`).toBe(`${mod}: /bin/false`);
    });

    it('holds no network, radio or Bluetooth driver, and refuses each deleted one by name', () => {
      const kernels = tree.list('/usr/lib/modules');
      expect(kernels.length).toBeGreaterThan(0);
      for (const k of kernels) {
        for (const dir of [
          'drivers/net',
          'drivers/bluetooth',
          'net/wireless',
          'net/mac80211',
          'net/bluetooth',
        ]) {
          expect(tree.walk(`/usr/lib/modules/${k}/kernel/${dir}`)).toEqual([]);
        }
        const left = tree
          .walk(`/usr/lib/modules/${k}/kernel`)
          .filter((p) => /\/(g_ether|usb_f_(ecm|rndis|ncm|eem))\.ko/.test(p));
        expect(left).toEqual([]);
      }
      const removed = tree.read('/usr/share/keyline/removed-modules.txt').trim().split('\n');
      expect(removed.length).toBeGreaterThan(100);
      const installs = tree.modprobeInstall();
      for (const f of removed) {
        const name = (f.split('/').at(-1) ?? '').replace(/\.ko.*$/, '').replaceAll('-', '_');
        expect(`${name}: ${installs.get(name)}`).toBe(`${name}: /bin/false`);
      }
      expect(
        tree
          .list('/usr/lib/firmware')
          .filter((n) => /^(brcm|cypress|iwlwifi|ath|rtlwifi|rtl_bt)/.test(n)),
      ).toEqual([]);
    });

    it('has no network manager, DHCP client, sshd or other network service', () => {
      const pkgs = packages();
      for (const p of FORBIDDEN_PACKAGES) expect(`${p}: ${pkgs.has(p)}`).toBe(`${p}: false`);
      for (const bin of [
        '/usr/sbin/sshd',
        '/usr/sbin/dhclient',
        '/usr/sbin/NetworkManager',
        '/usr/sbin/ifup',
        '/usr/sbin/wpa_supplicant',
        '/usr/sbin/dhcpcd',
      ]) {
        expect(`${bin}: ${tree.exists(bin)}`).toBe(`${bin}: false`);
      }
      for (const u of [
        'systemd-networkd.service',
        'systemd-networkd.socket',
        'systemd-resolved.service',
        'systemd-timesyncd.service',
        'ssh.service',
        'sshd.service',
      ]) {
        expect(`${u}: ${tree.isMasked(u)}`).toBe(`${u}: true`);
      }
      expect(tree.exists('/etc/network/interfaces')).toBe(false);
      expect(tree.exists('/etc/resolv.conf')).toBe(false);
    });

    it('listens on no network socket: every enabled socket unit is a local path or netlink', () => {
      const sockets = new Set<string>();
      for (const target of ['sockets.target', 'sysinit.target', 'multi-user.target']) {
        for (const u of tree.wantedBy(target)) if (u.endsWith('.socket')) sockets.add(u);
      }
      expect(sockets.size).toBeGreaterThan(0);
      for (const s of sockets) {
        if (tree.isMasked(s)) continue;
        const unit = tree.unit(s);
        for (const key of ['ListenStream', 'ListenDatagram', 'ListenSequentialPacket']) {
          for (const v of unit.list('Socket', key)) expect(`${s} ${key}=${v}`).toMatch(/=[/@]/);
        }
        // the other Listen* kinds are local by nature (FIFO, special file, netlink, message queue,
        // USB FunctionFS); an unknown one fails here
        for (const key of unit.keys('Socket')) {
          if (key.startsWith('Listen')) expect(LOCAL_LISTEN_KEYS).toContain(key);
        }
      }
      expect(tree.exists('/etc/inetd.conf')).toBe(false);
    });

    it('runs the daemon in an empty network namespace with AF_UNIX sockets only', () => {
      const u = signer();
      expect(u.last('Service', 'PrivateNetwork')).toBe('yes');
      expect(u.list('Service', 'RestrictAddressFamilies')).toEqual(['AF_UNIX']);
      expect(u.list('Service', 'IPAddressDeny')).toEqual(['any']);
      const c = tree.unit(CEREMONY);
      expect(c.last('Service', 'PrivateNetwork')).toBe('yes');
      expect(c.list('Service', 'RestrictAddressFamilies')).toEqual(['AF_UNIX']);
    });
  });

  describe('keys never reach storage', () => {
    it('has no swap: none in fstab, swap.target masked, no swap file or zram', () => {
      expect(tree.fstab().filter((e) => e.type === 'swap' || e.options.includes('sw'))).toEqual([]);
      expect(tree.isMasked('swap.target')).toBe(true);
      for (const f of [
        '/swapfile',
        '/var/swap',
        '/etc/dphys-swapfile',
        '/usr/lib/systemd/system-generators/zram-generator',
      ]) {
        expect(`${f}: ${tree.exists(f)}`).toBe(`${f}: false`);
      }
      expect(tree.sysctl().get('vm.swappiness')).toBe('0');
    });

    it('cannot hibernate: nohibernate on the kernel command line, sleep targets masked and disallowed', () => {
      expect(cmdline()).toContain('nohibernate');
      for (const t of [
        'hibernate.target',
        'hybrid-sleep.target',
        'suspend-then-hibernate.target',
        'sleep.target',
        'suspend.target',
      ]) {
        expect(`${t}: ${tree.isMasked(t)}`).toBe(`${t}: true`);
      }
      const sleep = tree.read('/etc/systemd/sleep.conf.d/keyline.conf');
      expect(sleep).toMatch(/^AllowHibernation=no$/m);
    });

    it('writes no core dump: core_pattern |/bin/false, suid_dumpable 0, coredump Storage=none, LimitCORE=0', () => {
      const s = tree.sysctl();
      expect(s.get('kernel.core_pattern')).toBe('|/bin/false');
      expect(s.get('fs.suid_dumpable')).toBe('0');
      expect(s.get('kernel.yama.ptrace_scope')).toBe('3');
      expect(tree.read('/etc/systemd/coredump.conf.d/keyline.conf')).toMatch(/^Storage=none$/m);
      expect(signer().last('Service', 'LimitCORE')).toBe('0');
      expect(tree.unit(CEREMONY).last('Service', 'LimitCORE')).toBe('0');
      expect(tree.read('/etc/systemd/system.conf.d/keyline.conf')).toMatch(/^DefaultLimitCORE=0$/m);
      expect(tree.isMasked('systemd-pstore.service')).toBe(true);
    });

    it('keeps the journal in RAM only (Storage=volatile, no /var/log/journal)', () => {
      expect(tree.journald().get('Storage')).toBe('volatile');
      expect(tree.exists('/var/log/journal')).toBe(false);
    });

    it('mounts the root read-only under a RAM overlay (initramfs script, `ro`, no root in fstab)', () => {
      expect(cmdline()).toContain('ro');
      expect(cmdline()).not.toContain('rw');
      expect(tree.fstab().filter((e) => e.file === '/')).toEqual([]);
      const initramfs = tree.read('/usr/share/keyline/initramfs-contents.txt').split('\n');
      expect(initramfs).toContain('scripts/init-bottom/keyline-overlay');
      expect(initramfs.some((l) => /\/overlay\.ko/.test(l))).toBe(true);
      const script = tree.read('/etc/initramfs-tools/scripts/init-bottom/keyline-overlay');
      expect(script).toMatch(/mount -t tmpfs .*keyline-rw/);
      expect(script).toMatch(/remount,ro/);
      expect(script).toMatch(/mount -t overlay/);
      // no switch on the (writable) boot partition's command line turns the overlay off
      expect(script).not.toMatch(/\/proc\/cmdline/);
      expect(tree.read('/etc/initramfs-tools/conf.d/keyline.conf')).toMatch(/^MODULES=list$/m);
    });

    it('makes only the state partition writable, nosuid/nodev/noexec, and only it in the unit', () => {
      const persistent = tree.fstab().filter((e) => e.type !== 'tmpfs');
      expect(persistent.map((e) => e.file)).toEqual(['/var/lib/keyline']);
      expect(persistent[0]?.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
      expect(signer().last('Service', 'ProtectSystem')).toBe('strict');
      expect(signer().list('Service', 'ReadWritePaths')).toEqual(['/var/lib/keyline']);
    });

    it('gives the state partition (root directory included) to the keyline user alone', () => {
      const passwd = tree
        .read('/etc/passwd')
        .split('\n')
        .find((l) => l.startsWith('keyline:'));
      const [uid, gid] = [passwd?.split(':')[2], passwd?.split(':')[3]];
      for (const dir of [
        '/var/lib/keyline/keys',
        '/var/lib/keyline/state',
        '/var/lib/keyline/export',
      ]) {
        const st = statSync(tree.resolve(dir) as string);
        expect(`${dir} ${st.uid}:${st.gid} ${(st.mode & 0o777).toString(8)}`).toBe(
          `${dir} ${uid}:${gid} 700`,
        );
      }
      // genimage makes the partition's own root directory (mode 0755): it must not stay root's,
      // or the ceremony cannot leave its provisioning marker there
      expect(readFileSync(join(OUT, 'work', 'genimage.cfg'), 'utf8')).toContain(
        `root_owner=${uid}:${gid},`,
      );
    });

    it('has tmpfs for /tmp and /var/tmp', () => {
      for (const dir of ['/tmp', '/var/tmp']) {
        const e = tree.fstab().find((x) => x.file === dir);
        expect(e?.type).toBe('tmpfs');
        expect(e?.options).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
      }
    });
  });

  describe('one link only', () => {
    it('has no login getty anywhere, in particular none on the link', () => {
      for (const u of [
        'getty@.service',
        'serial-getty@.service',
        'autovt@.service',
        'console-getty.service',
        'getty.target',
      ]) {
        expect(`${u}: ${tree.isMasked(u)}`).toBe(`${u}: true`);
      }
      const linkName = settings().device.replace('/dev/', '');
      expect(tree.unitPath(`serial-getty@${linkName}.service`)).toBe('/dev/null');
      for (const target of ['getty.target', 'multi-user.target']) {
        // Debian's static wants (getty.target, getty-static) stay, masked: nothing starts
        const live = tree
          .wantedBy(target)
          .filter((u) => /getty/.test(u) && tree.unitPath(u) !== '/dev/null');
        expect(live).toEqual([]);
      }
    });

    it('uses the link chosen at build time: gadget = dwc2 + g_serial (ACM only), uart = no gadget', () => {
      const { kind, device } = settings();
      const loads = tree.readOr('/etc/modules-load.d/keyline-link.conf', '');
      if (kind === 'gadget') {
        expect(device).toBe('/dev/ttyGS0');
        expect(loads.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual([
          'dwc2',
          'g_serial',
        ]);
        expect(tree.read('/etc/modprobe.d/keyline-gadget.conf')).toMatch(
          /^options g_serial use_acm=1 n_ports=1$/m,
        );
      } else {
        expect(kind).toBe('uart');
        expect(device).toMatch(/^\/dev\/tty(S|AMA)\d+$/);
        expect(loads).toBe('');
      }
      expect(tree.read('/etc/udev/rules.d/60-keyline-link.rules')).toContain(
        `KERNEL=="${device.replace('/dev/', '')}", SUBSYSTEM=="tty", OWNER="root", GROUP="keyline", MODE="0660"`,
      );
    });

    it('lets the daemon open only the link and its console (DevicePolicy=closed + DeviceAllow)', () => {
      const { device, console } = settings();
      expect(signer().last('Service', 'DevicePolicy')).toBe('closed');
      expect(signer().list('Service', 'DeviceAllow').sort()).toEqual(
        [`${device} rw`, `/dev/${console} rw`, '/dev/tty rw'].sort(),
      );
      expect(signer().list('Unit', 'BindsTo')).toEqual([
        `dev-${device.replace('/dev/', '')}.device`,
      ]);
      expect(
        tree
          .unit(CEREMONY)
          .list('Service', 'DeviceAllow')
          .some((d) => d.startsWith(device)),
      ).toBe(false);
    });
  });

  describe('the daemon as a hardened service', () => {
    it('runs as its own locked system user without capabilities or new privileges', () => {
      const u = signer();
      expect(u.last('Service', 'User')).toBe('keyline');
      expect(u.last('Service', 'Group')).toBe('keyline');
      expect(u.has('Service', 'CapabilityBoundingSet')).toBe(true);
      expect(u.list('Service', 'CapabilityBoundingSet')).toEqual([]);
      expect(u.list('Service', 'AmbientCapabilities')).toEqual([]);
      expect(u.last('Service', 'NoNewPrivileges')).toBe('yes');
      for (const k of [
        'ProtectKernelTunables',
        'ProtectKernelModules',
        'ProtectKernelLogs',
        'ProtectControlGroups',
        'ProtectClock',
        'RestrictNamespaces',
        'RestrictSUIDSGID',
        'LockPersonality',
        'ProtectHome',
        'PrivateTmp',
      ]) {
        expect(`${k}=${u.last('Service', k)}`).toBe(`${k}=yes`);
      }
      expect(u.list('Service', 'SystemCallFilter')[0]).toBe('@system-service');
      const passwd = tree
        .read('/etc/passwd')
        .split('\n')
        .find((l) => l.startsWith('keyline:'));
      expect(passwd?.split(':')[6]).toBe('/usr/sbin/nologin');
      expect(Number(passwd?.split(':')[2])).toBeLessThan(1000);
      const shadow = tree.read('/etc/shadow').split('\n');
      for (const user of ['root', 'keyline']) {
        expect(shadow.find((l) => l.startsWith(`${user}:`))?.split(':')[1]).toMatch(/^!/);
      }
    });

    it('starts locked and reads the passphrase on the local console, never over the link', () => {
      const { device, console } = settings();
      const u = signer();
      expect(u.last('Service', 'StandardInput')).toMatch(/^tty(-force)?$/);
      expect(u.last('Service', 'TTYPath')).toBe(`/dev/${console}`);
      expect(`/dev/${console}`).not.toBe(device);
      expect(u.last('Service', 'ExecStart')).toBe('/usr/lib/keyline/keyline-serve');
      const serve = tree.read('/usr/lib/keyline/keyline-serve');
      expect(serve).not.toMatch(/passphrase-file|insecure-test-kdf|--inspect/);
      expect(serve).toContain(`--port ${device}`);
      expect(serve).toMatch(/keyline-signer\.js serve/);
      expect(u.list('Service', 'UnsetEnvironment')).toContain('NODE_OPTIONS');
      if (tree.exists('/etc/keyline/signer.json')) {
        const cfg = JSON.parse(tree.read('/etc/keyline/signer.json')) as Record<string, unknown>;
        if (cfg.network === 'mainnet') expect(cfg.passphraseFile).toBeUndefined();
      }
      const c = tree.unit(CEREMONY);
      expect(c.last('Service', 'TTYPath')).toBe(`/dev/${console}`);
      expect(c.list('Unit', 'ConditionPathExists')).toContain(
        '!/var/lib/keyline/keys/device-key.json',
      );
    });

    it('starts the daemon only after the boot self-check and the module lockdown', () => {
      expect(tree.wantedBy('multi-user.target')).toEqual(
        expect.arrayContaining([SIGNER, CEREMONY, 'keyline-selfcheck.service']),
      );
      expect(tree.wantedBy('sysinit.target')).toContain('keyline-lockdown.service');
      expect(signer().list('Unit', 'Requires').join(' ')).toContain('keyline-selfcheck.service');
      expect(tree.unit('keyline-selfcheck.service').list('Unit', 'Requires').join(' ')).toContain(
        'keyline-lockdown.service',
      );
      expect(tree.read('/usr/lib/keyline/keyline-lockdown')).toMatch(/modules_disabled/);
    });
  });

  describe('build record', () => {
    it('records every Debian package version, Node and the signer bundle in the image and beside it', () => {
      const inside = manifest();
      expect(inside.fields.get('node_version_in_image')).toMatch(/^v20\.\d+\.\d+$/);
      expect(inside.fields.get('node')).toMatch(/^20\.\d+\.\d+ node-linux-(x64|arm64) sha512-/);
      expect(inside.sections.get('debian-packages')?.length).toBeGreaterThan(50);
      for (const l of inside.sections.get('debian-packages') ?? [])
        expect(l).toMatch(/^\S+\t\S+\t\S+$/);
      expect(packages().get('systemd')).toMatch(/^\d/);
      expect(inside.sections.get('signer-bundle')).toEqual(
        expect.arrayContaining([expect.stringMatching(/^serialport@/)]),
      );
      const beside = parseManifest(readBeside('manifest.txt'));
      expect(beside.sections.get('debian-packages')).toEqual(
        inside.sections.get('debian-packages'),
      );
      expect(beside.fields.get('image_sha256')).toMatch(/^[0-9a-f]{64}$/);
    });

    it('prints an image SHA-256 that matches the image file', async () => {
      const beside = parseManifest(readBeside('manifest.txt'));
      const name = beside.fields.get('image') ?? '';
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(join(OUT, name))) hash.update(chunk as Buffer);
      const sum = hash.digest('hex');
      expect(sum).toBe(beside.fields.get('image_sha256'));
      expect(readBeside('img.sha256')).toBe(`${sum}  ${name}\n`);
    });
  });
});

/** A file beside the image, named after the image this rootfs went into (its inside manifest). */
function readBeside(suffix: string): string {
  const tree = new ImageTree(join(OUT, 'rootfs'));
  const image =
    parseManifest(tree.read('/usr/share/keyline/manifest.txt')).fields.get('image') ?? '';
  const base = image.replace(/\.img$/, '');
  return new ImageTree(OUT).read(`/${base}.${suffix}`);
}
