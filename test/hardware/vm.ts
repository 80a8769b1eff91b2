/**
 * The amd64 signer image in qemu-system-x86_64 (software emulation, no KVM): the boot
 * partition's kernel, initramfs and command line booted directly, the image as a virtio disk in
 * snapshot mode (the file is never written), the VM's first serial port (ttyS0, the device's
 * local console) on qemu's stdin/stdout, its second (ttyS1, the one link) as a host pty.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Vm {
  /** Host pty of the VM's ttyS1 (the link). */
  readonly linkPty: string;
  /** Everything the console has printed so far (kernel, self-check, daemon prompts). */
  console(): string;
  /** Type on the local console (bytes as a keyboard would send them). */
  type(text: string): void;
  /** Resolves with the console text once `pattern` appears; rejects on exit or after `limitMs`. */
  waitFor(pattern: RegExp, limitMs: number): Promise<string>;
  /**
   * Like `expect`(1): waits for `pattern` in the console text after the previous match, then
   * moves past it; resolves with the match.
   */
  expect(pattern: RegExp, limitMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL if qemu is still there. */
  stop(): Promise<void>;
}

/** `consoleLog`: a file that receives the console as it comes (left for inspection after a run). */
export async function bootVm(
  outDir: string,
  imageName: string,
  limitMs: number,
  consoleLog: string,
): Promise<Vm> {
  writeFileSync(consoleLog, '');
  const boot = join(outDir, 'boot');
  const append = readFileSync(join(boot, 'cmdline.txt'), 'utf8').trim();
  const child: ChildProcess = spawn(
    'qemu-system-x86_64',
    [
      ...['-machine', 'q35', '-m', '1024', '-smp', '2', '-accel', 'tcg'],
      ...['-display', 'none', '-no-reboot', '-nic', 'none', '-monitor', 'none'],
      ...['-kernel', join(boot, 'vmlinuz'), '-initrd', join(boot, 'initrd.img'), '-append', append],
      ...['-drive', `file=${join(outDir, imageName)},format=raw,if=virtio,snapshot=on`],
      ...['-serial', 'stdio', '-serial', 'pty'],
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let exited = false;
  const take = (t: string): void => {
    out += t;
    appendFileSync(consoleLog, t, 'latin1');
  };
  child.stdout?.setEncoding('latin1').on('data', take);
  child.stderr?.setEncoding('latin1').on('data', take);
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const waitFor = async (pattern: RegExp, ms: number): Promise<string> => {
    const start = Date.now();
    for (;;) {
      if (pattern.test(out)) return out;
      if (exited || Date.now() - start > ms) {
        throw new Error(
          `vm: expected ${pattern} on the console, got ${exited ? 'qemu exited' : 'nothing in time'}:\n${out.slice(-4000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  let cursor = 0;
  const expectNext = async (pattern: RegExp, ms: number): Promise<RegExpExecArray> => {
    const re = new RegExp(pattern.source, pattern.flags.replace('g', ''));
    const start = Date.now();
    for (;;) {
      const m = re.exec(out.slice(cursor));
      if (m !== null) {
        cursor += m.index + m[0].length;
        return m;
      }
      if (exited || Date.now() - start > ms) {
        throw new Error(
          `vm: expected ${pattern} on the console, got ${exited ? 'qemu exited' : 'nothing in time'}:\n${out.slice(-4000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(killer);
  };
  try {
    const text = await waitFor(/redirected to (\/dev\/pts\/\d+) \(label serial1\)/, limitMs);
    const pty = /redirected to (\/dev\/pts\/\d+) \(label serial1\)/.exec(text)?.[1] as string;
    return {
      linkPty: pty,
      console: () => out,
      type: (t) => {
        child.stdin?.write(Buffer.from(t, 'utf8'));
      },
      waitFor,
      expect: expectNext,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
