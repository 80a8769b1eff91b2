/**
 * The parsers behind the static image test: they must read the files as systemd, sysctl and
 * modprobe do, or a later override in the image could pass the check while the running device
 * ignores the guarantee. Runs without any image (a small fake tree in a temporary directory).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ImageTree,
  parseFstab,
  parseManifest,
  parseModprobeInstall,
  parseSysctl,
  parseUnit,
} from './image-tree.js';

let root = '';
let outside = '';
const put = (path: string, text: string): void => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
};
const link = (path: string, target: string): void => {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(target, join(root, path));
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'keyline-image-tree-'));
  outside = mkdtempSync(join(tmpdir(), 'keyline-image-outside-'));
  writeFileSync(join(outside, 'secret'), 'host file');
  put(
    '/usr/lib/systemd/system/demo.service',
    '[Service]\nPrivateNetwork=yes\nDeviceAllow=/dev/ttyS1 rw\n',
  );
  put(
    '/etc/systemd/system/demo.service.d/override.conf',
    '[Service]\nPrivateNetwork=no\nDeviceAllow=\nDeviceAllow=/dev/sda rw\n',
  );
  link('/etc/systemd/system/getty@.service', '/dev/null');
  put('/usr/lib/sysctl.d/50-coredump.conf', 'kernel.core_pattern=|/lib/systemd/systemd-coredump\n');
  put('/etc/sysctl.d/99-keyline.conf', 'kernel.core_pattern = |/bin/false\nfs/suid_dumpable = 0\n');
  put('/etc/sysctl.d/99-zz-later.conf', 'fs.suid_dumpable = 2\n');
  put('/etc/modprobe.d/a.conf', 'install brcmfmac /bin/true\n');
  put('/etc/modprobe.d/keyline.conf', 'install brcmfmac /bin/false\ninstall hci-uart /bin/false\n');
  put('/etc/systemd/journald.conf', '[Journal]\n#Storage=auto\n');
  put('/etc/systemd/journald.conf.d/keyline.conf', '[Journal]\nStorage=volatile\n');
  put('/etc/systemd/journald.conf.d/zz.conf', '[Journal]\nStorage=persistent\n');
  link('/etc/escape', join(outside, 'secret'));
  put('/etc/passwd', 'root:x:0:0::/root:/bin/sh\n');
  link('/etc/abs', '/etc/passwd');
  link('/lib', 'usr/lib');
  link('/etc/loop', '/etc/loop');
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('ImageTree', () => {
  it('resolves absolute symlinks inside the image, never on the build host', () => {
    const tree = new ImageTree(root);
    expect(tree.read('/etc/abs')).toBe('root:x:0:0::/root:/bin/sh\n');
    expect(tree.exists('/lib/systemd/system/demo.service')).toBe(true);
    // a link to a host path names a path inside the image, which does not exist there
    expect(tree.exists('/etc/escape')).toBe(false);
    expect(() => tree.read('/etc/loop')).toThrow(/links/);
  });

  it('reads a unit with its drop-ins: a later scalar wins, an empty list assignment resets', () => {
    const u = new ImageTree(root).unit('demo.service');
    expect(u.last('Service', 'PrivateNetwork')).toBe('no');
    expect(u.list('Service', 'DeviceAllow')).toEqual(['/dev/sda rw']);
  });

  it('sees a masked template as masked for its instances', () => {
    const tree = new ImageTree(root);
    expect(tree.isMasked('getty@.service')).toBe(true);
    expect(tree.unitPath('getty@tty1.service')).toBe('/dev/null');
    expect(() => tree.unit('getty@tty1.service')).toThrow(/expected a unit file/);
  });

  it('applies sysctl.d files in name order, so a later file overrides a guarantee', () => {
    const s = new ImageTree(root).sysctl();
    expect(s.get('kernel.core_pattern')).toBe('|/bin/false');
    expect(s.get('fs.suid_dumpable')).toBe('2');
  });

  it('takes the first modprobe install command in file-name order, reading - as _', () => {
    const m = new ImageTree(root).modprobeInstall();
    expect(m.get('brcmfmac')).toBe('/bin/true');
    expect(m.get('hci_uart')).toBe('/bin/false');
  });

  it('reads journald settings with drop-ins applied in order', () => {
    expect(new ImageTree(root).journald().get('Storage')).toBe('persistent');
  });
});

describe('parsers', () => {
  it('refuse lines they do not understand', () => {
    expect(() => parseUnit('PrivateNetwork=yes\n')).toThrow(/Section/);
    expect(() => parseUnit('[Service]\nPrivateNetwork\n')).toThrow(/Key=value/);
    expect(() => parseSysctl('kernel.core_pattern\n')).toThrow(/key = value/);
    expect(() => parseFstab('tmpfs /tmp\n')).toThrow(/4 fields/);
    expect(() => parseManifest('arch amd64\n')).toThrow(/key=value/);
  });

  it('read continuation lines and comments as systemd does', () => {
    const u = parseUnit('# c\n[Service]\n; c\nSystemCallFilter=@system-service \\\n  @foo\n');
    expect(u.list('Service', 'SystemCallFilter')).toEqual(['@system-service    @foo']);
    expect(parseModprobeInstall('install a-b \\\n /bin/false\n')).toEqual([['a_b', '/bin/false']]);
  });

  it('unit: the last of any sequence of scalar assignments is the value (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('yes', 'no', 'strict', 'full'), { minLength: 1, maxLength: 8 }),
        (values) => {
          const text = `[Service]\n${values.map((v) => `ProtectSystem=${v}`).join('\n')}\n`;
          expect(parseUnit(text).last('Service', 'ProtectSystem')).toBe(values.at(-1));
        },
      ),
    );
  });

  it('unit: a list is what follows the last empty assignment (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('', '/dev/ttyS1 rw', '/dev/tty rw', '/dev/sda rw'), {
          maxLength: 10,
        }),
        (values) => {
          const text = `[Service]\n${values.map((v) => `DeviceAllow=${v}`).join('\n')}\n`;
          const lastEmpty = values.lastIndexOf('');
          expect(parseUnit(text).list('Service', 'DeviceAllow')).toEqual(
            values.slice(lastEmpty + 1),
          );
        },
      ),
    );
  });
});
