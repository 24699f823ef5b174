/**
 * Small real file systems for disk-trouble tests (DESIGN.md, "Testing in CI": a small
 * loop-mounted file system): a tmpfs of a few MiB to fill up, and an ext4 image on a loop device
 * that the kernel can be told to find broken, so it turns the file system read-only under a
 * running relay exactly as it does after a real I/O error (`errors=remount-ro`).
 *
 * Mounting needs root; `mountingAvailable` says whether this process can, and tests skip with
 * one visible line when it cannot. Everything mounted here is unmounted by `release`.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

function run(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Whether this process can mount file systems (root, and a kernel that lets it). */
export function mountingAvailable(): { ok: true } | { ok: false; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'not running as root' };
  const dir = mkdtempSync(join(tmpdir(), 'bc-mount-probe-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    run('umount', [dir]);
    return { ok: true };
  } catch (e) {
    return { ok: false, why: `mount refused: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SmallTmpfs {
  dir: string;
  /** Writes a filler file until the file system refuses (ENOSPC); returns the bytes written. */
  fill(): number;
  /** Deletes the filler: the space returns. */
  unfill(): void;
  release(): void;
}

export function mountTmpfs(sizeBytes: number): SmallTmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'bc-tmpfs-'));
  run('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  return {
    dir,
    fill() {
      const fd = openSync(filler, 'a');
      let written = 0;
      try {
        // Big chunks first, then page by page, so the disk is full to the last page.
        for (const chunk of [Buffer.alloc(256 * 1024, 1), Buffer.alloc(4096, 1), Buffer.alloc(512, 1)]) {
          for (;;) {
            try {
              written += writeSync(fd, chunk);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw e;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    unfill() {
      if (existsSync(filler)) unlinkSync(filler);
    },
    release() {
      run('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface LoopExt4 {
  dir: string;
  /** What the kernel does on a file-system error: the file system turns read-only under every open file. */
  breakToReadOnly(): void;
  /** The operator's repair: unmount (every file closed first), fsck, mount read-write again. */
  repair(): void;
  release(): void;
}

/**
 * Whether an ext4 image can be loop-mounted here and told to fail (the sysfs
 * `trigger_fs_error` of its device): a container may allow tmpfs but not loop devices.
 */
export function loopExt4Available(): { ok: true } | { ok: false; why: string } {
  const mounting = mountingAvailable();
  if (!mounting.ok) return mounting;
  let disk: LoopExt4 | undefined;
  try {
    disk = mountLoopExt4(8 * 1024 * 1024);
    const trigger = `/sys/fs/ext4/${basename(run('findmnt', ['-no', 'SOURCE', disk.dir]).trim())}/trigger_fs_error`;
    return existsSync(trigger) ? { ok: true } : { ok: false, why: `the kernel has no ${trigger}` };
  } catch (e) {
    return { ok: false, why: `no loop-mounted ext4: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  } finally {
    disk?.release();
  }
}

export function mountLoopExt4(sizeBytes: number): LoopExt4 {
  const base = mkdtempSync(join(tmpdir(), 'bc-ext4-'));
  const image = join(base, 'disk.img');
  const dir = join(base, 'mnt');
  run('mkdir', [dir]);
  run('truncate', ['-s', String(sizeBytes), image]);
  // No journal: after a forced read-only turn, the repaired file system mounts read-write again.
  run('mkfs.ext4', ['-q', '-F', '-O', '^has_journal', image]);
  const mount = (): void => {
    run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  };
  mount();
  const device = (): string => run('findmnt', ['-no', 'SOURCE', dir]).trim();
  let mounted = true;
  return {
    dir,
    breakToReadOnly() {
      const trigger = `/sys/fs/ext4/${basename(device())}/trigger_fs_error`;
      if (!existsSync(trigger)) throw new Error(`the kernel has no ${trigger}`);
      execFileSync('sh', ['-c', `echo 'reliability test: simulated I/O error' > ${trigger}`]);
    },
    repair() {
      run('umount', [dir]);
      mounted = false;
      try {
        run('e2fsck', ['-fy', image]);
      } catch (e) {
        // Exit 1: errors were corrected, which is what a repair is for; anything higher is a failure.
        if ((e as { status?: number }).status !== 1) throw e;
      }
      mount();
      mounted = true;
    },
    release() {
      if (mounted) run('umount', [dir]);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
