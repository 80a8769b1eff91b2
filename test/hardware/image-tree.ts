/**
 * Read-only view of a built root file system (hardware/build-image.sh's `<out>/rootfs`), with the
 * parsers the static image test needs: systemd units (list settings accumulate, an empty
 * assignment resets them, scalars: the last assignment wins), sysctl.d and modprobe.d with their
 * real precedence, fstab, journald. Absolute symlinks inside the tree resolve inside the tree,
 * never on the build host.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

const MAX_LINKS = 40;

export class ImageTree {
  constructor(readonly root: string) {}

  /** Host path of `path` (absolute inside the image), symlinks followed inside the image. */
  resolve(path: string): string | null {
    let rest = posix.normalize(path).split('/').filter(Boolean);
    let cur: string[] = [];
    for (let hops = 0; rest.length > 0; ) {
      const name = rest.shift() as string;
      if (name === '..') {
        cur.pop();
        continue;
      }
      const next = [...cur, name];
      const host = posix.join(this.root, ...next);
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(host);
      } catch {
        return null;
      }
      if (st.isSymbolicLink()) {
        hops += 1;
        if (hops > MAX_LINKS) {
          throw new Error(
            `image-tree/resolve: expected at most ${MAX_LINKS} links, got a loop at ${path}`,
          );
        }
        const target = readlinkSync(host);
        const parts = target.split('/').filter(Boolean);
        if (target.startsWith('/')) cur = [];
        rest = [...parts, ...rest];
        continue;
      }
      cur = next;
    }
    return posix.join(this.root, ...cur);
  }

  exists(path: string): boolean {
    return this.resolve(path) !== null;
  }

  read(path: string): string {
    const host = this.resolve(path);
    if (host === null) throw new Error(`image-tree/read: expected ${path} in the image, got none`);
    return readFileSync(host, 'utf8');
  }

  readOr(path: string, fallback: string): string {
    const host = this.resolve(path);
    return host === null ? fallback : readFileSync(host, 'utf8');
  }

  /** Names in a directory of the image (none when it does not exist). */
  list(dir: string): string[] {
    const host = this.resolve(dir);
    if (host === null) return [];
    try {
      return readdirSync(host).sort();
    } catch {
      return [];
    }
  }

  /** Every regular file below `dir` (image paths), symlinks not followed. */
  walk(dir: string): string[] {
    const host = this.resolve(dir);
    if (host === null) return [];
    const out: string[] = [];
    const visit = (rel: string): void => {
      for (const name of readdirSync(posix.join(host, rel))) {
        const r = rel === '' ? name : `${rel}/${name}`;
        const st = lstatSync(posix.join(host, r));
        if (st.isDirectory()) visit(r);
        else if (st.isFile()) out.push(posix.join(dir, r));
      }
    };
    visit('');
    return out.sort();
  }

  /** The target of a symlink at `path` (not followed), or null when it is not a symlink. */
  linkTarget(path: string): string | null {
    try {
      const host = posix.join(this.root, path);
      return lstatSync(host).isSymbolicLink() ? readlinkSync(host) : null;
    } catch {
      return null;
    }
  }

  /** A unit is masked when /etc/systemd/system/<unit> is a link to /dev/null. */
  isMasked(unit: string): boolean {
    return this.linkTarget(`/etc/systemd/system/${unit}`) === '/dev/null';
  }

  /** The unit file systemd would load: /etc, then /run, then /lib (a template for instances). */
  unitPath(unit: string): string | null {
    const at = unit.indexOf('@');
    const dot = unit.lastIndexOf('.');
    const names =
      at > 0 && at + 1 < dot ? [unit, `${unit.slice(0, at + 1)}${unit.slice(dot)}`] : [unit];
    for (const name of names) {
      for (const dir of UNIT_DIRS) {
        const p = `${dir}/${name}`;
        if (this.linkTarget(p) === '/dev/null') return '/dev/null';
        if (this.exists(p)) return p;
      }
    }
    return null;
  }

  unit(unit: string): SystemdUnit {
    const p = this.unitPath(unit);
    if (p === null || p === '/dev/null') {
      throw new Error(`image-tree/unit: expected a unit file for ${unit}, got ${p ?? 'none'}`);
    }
    let text = this.read(p);
    for (const dir of UNIT_DIRS) {
      for (const name of this.list(`${dir}/${unit}.d`)) {
        if (name.endsWith('.conf')) text += `\n${this.read(`${dir}/${unit}.d/${name}`)}`;
      }
    }
    return parseUnit(text);
  }

  /** Units pulled in by `target` through .wants/ links in any unit directory. */
  wantedBy(target: string): string[] {
    const found = new Set<string>();
    for (const dir of UNIT_DIRS) for (const n of this.list(`${dir}/${target}.wants`)) found.add(n);
    return [...found].sort();
  }

  /** Effective sysctl values: sysctl.d files by name (/etc overrides a same-name /usr/lib file). */
  sysctl(): Map<string, string> {
    const files = new Map<string, string>();
    for (const dir of ['/usr/lib/sysctl.d', '/lib/sysctl.d', '/run/sysctl.d', '/etc/sysctl.d']) {
      for (const name of this.list(dir))
        if (name.endsWith('.conf')) files.set(name, `${dir}/${name}`);
    }
    // a dangling link (Debian's 99-sysctl.conf -> /etc/sysctl.conf when procps is absent) is
    // skipped, as systemd-sysctl does
    for (const [name, p] of files) if (!this.exists(p)) files.delete(name);
    const out = new Map<string, string>();
    const ordered = [...files.keys()].sort();
    const texts = ordered.map((n) => this.read(files.get(n) as string));
    if (this.exists('/etc/sysctl.conf')) texts.push(this.read('/etc/sysctl.conf'));
    for (const text of texts) for (const [k, v] of parseSysctl(text)) out.set(k, v);
    return out;
  }

  /** modprobe.d `install` commands by module name ('-' read as '_', as modprobe does). */
  modprobeInstall(): Map<string, string> {
    const files = new Map<string, string>();
    for (const dir of [
      '/usr/lib/modprobe.d',
      '/lib/modprobe.d',
      '/run/modprobe.d',
      '/etc/modprobe.d',
    ]) {
      for (const name of this.list(dir))
        if (name.endsWith('.conf')) files.set(name, `${dir}/${name}`);
    }
    for (const [name, p] of files) if (!this.exists(p)) files.delete(name);
    const out = new Map<string, string>();
    for (const name of [...files.keys()].sort()) {
      for (const [mod, cmd] of parseModprobeInstall(this.read(files.get(name) as string))) {
        // modprobe uses the first install command it reads for a module
        if (!out.has(mod)) out.set(mod, cmd);
      }
    }
    return out;
  }

  fstab(): FstabEntry[] {
    return parseFstab(this.readOr('/etc/fstab', ''));
  }

  /** journald's effective [Journal] settings: journald.conf, then drop-ins by name. */
  journald(): Map<string, string> {
    let text = this.readOr('/etc/systemd/journald.conf', '');
    const dropins = new Map<string, string>();
    for (const dir of ['/usr/lib/systemd/journald.conf.d', '/etc/systemd/journald.conf.d']) {
      for (const name of this.list(dir))
        if (name.endsWith('.conf')) dropins.set(name, `${dir}/${name}`);
    }
    for (const name of [...dropins.keys()].sort())
      text += `\n${this.read(dropins.get(name) as string)}`;
    const unit = parseUnit(text);
    const out = new Map<string, string>();
    for (const key of unit.keys('Journal')) {
      const v = unit.last('Journal', key);
      if (v !== undefined) out.set(key, v);
    }
    return out;
  }
}

const UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
];

/** A parsed unit or systemd configuration file: every assignment, in order, per section. */
export class SystemdUnit {
  constructor(
    private readonly sections: ReadonlyMap<string, readonly (readonly [string, string])[]>,
  ) {}

  keys(section: string): string[] {
    return [...new Set((this.sections.get(section) ?? []).map(([k]) => k))];
  }

  /** The value systemd uses for a scalar setting: the last assignment. */
  last(section: string, key: string): string | undefined {
    const all = (this.sections.get(section) ?? []).filter(([k]) => k === key);
    return all.at(-1)?.[1];
  }

  /** A list setting: values accumulate, an empty assignment clears what came before. */
  list(section: string, key: string): string[] {
    let out: string[] = [];
    for (const [k, v] of this.sections.get(section) ?? []) {
      if (k !== key) continue;
      if (v === '') out = [];
      else out.push(v);
    }
    return out;
  }

  /** Whether the setting was assigned at all (an empty value counts). */
  has(section: string, key: string): boolean {
    return (this.sections.get(section) ?? []).some(([k]) => k === key);
  }
}

export function parseUnit(text: string): SystemdUnit {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | null = null;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header !== null) {
      const name = header[1] as string;
      current = sections.get(name) ?? [];
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || current === null) {
      throw new Error(
        `image-tree/unit: expected "[Section]" or "Key=value", got ${JSON.stringify(line)}`,
      );
    }
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return new SystemdUnit(sections);
}

/** sysctl.d syntax: `key = value` (`/` read as `.`), `#`/`;` comments, a leading `-` ignored. */
export function parseSysctl(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0)
      throw new Error(`image-tree/sysctl: expected "key = value", got ${JSON.stringify(line)}`);
    const key = line.slice(0, eq).trim().replace(/^-/, '').replaceAll('/', '.');
    out.push([key, line.slice(eq + 1).trim()]);
  }
  return out;
}

export function parseModprobeInstall(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = raw.trim();
    const m = /^install\s+(\S+)\s+(.+)$/.exec(line);
    if (m !== null) out.push([(m[1] as string).replaceAll('-', '_'), (m[2] as string).trim()]);
  }
  return out;
}

export interface FstabEntry {
  readonly spec: string;
  readonly file: string;
  readonly type: string;
  readonly options: readonly string[];
}

export function parseFstab(text: string): FstabEntry[] {
  const out: FstabEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    if (f.length < 4)
      throw new Error(`image-tree/fstab: expected at least 4 fields, got ${JSON.stringify(line)}`);
    out.push({
      spec: f[0] as string,
      file: f[1] as string,
      type: f[2] as string,
      options: (f[3] as string).split(','),
    });
  }
  return out;
}

/** `key=value` lines of the image manifest's header, and its `[section]` line lists. */
export function parseManifest(text: string): {
  fields: Map<string, string>;
  sections: Map<string, string[]>;
} {
  const fields = new Map<string, string>();
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[([a-z-]+)\]$/.exec(line);
    if (header !== null) {
      current = [];
      sections.set(header[1] as string, current);
    } else if (current !== null) current.push(line);
    else {
      const eq = line.indexOf('=');
      if (eq <= 0)
        throw new Error(`image-tree/manifest: expected "key=value", got ${JSON.stringify(line)}`);
      fields.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  return { fields, sections };
}
