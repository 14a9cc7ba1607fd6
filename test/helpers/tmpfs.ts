/**
 * A real small filesystem for disk-full tests: a tmpfs mounted on a fresh temp directory, which
 * can be filled up to a chosen free space, grown, and unmounted. Mounting needs root (CI runs as
 * root); {@link tmpfsUnavailable} gives the reason to skip otherwise. Every mount is tracked so
 * one {@link unmountAll} in `afterEach` removes them all.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A mounted tmpfs. */
export interface Tmpfs {
  /** The mount point (an empty directory when mounted). */
  readonly dir: string;
  /** Bytes free on it now (statfs f_bavail × f_bsize). */
  free(): number;
  /**
   * Writes a filler file (`name`, default `filler`) so that at most `leaveBytes` stay free
   * (rounded down to whole 4 KiB pages, tmpfs's allocation unit). Returns the filler's path.
   */
  fill(leaveBytes: number, name?: string): string;
  /** Grows (or shrinks) the filesystem in place: `mount -o remount,size=…`. Files are kept. */
  resize(sizeBytes: number): void;
}

const mounts = new Set<string>();

/**
 * Why a tmpfs cannot be mounted here (not running as root), or null when it can. Tests use it
 * with `describe.skipIf` and put the reason in the suite's name.
 */
export function tmpfsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux to mount a tmpfs';
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs (CI runs as root)';
  return null;
}

/** Mounts a tmpfs of `sizeBytes` (a multiple of 4 KiB) on a new temp directory. */
export function mountTmpfs(sizeBytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (err) {
    rmdirSync(dir);
    throw err;
  }
  mounts.add(dir);
  const free = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    free,
    fill(leaveBytes, name = 'filler') {
      const file = join(dir, name);
      const fd = openSync(file, 'a');
      try {
        const chunk = Buffer.alloc(64 * 1024, 0x78);
        for (let want = free() - leaveBytes; want >= 4096; want = free() - leaveBytes) {
          writeSync(fd, chunk, 0, Math.min(chunk.length, want - (want % 4096)));
        }
      } finally {
        closeSync(fd);
      }
      return file;
    },
    resize(size) {
      execFileSync('mount', ['-o', `remount,size=${size}`, dir], { stdio: 'pipe' });
    },
  };
}

/**
 * Unmounts every tmpfs mounted here (lazily if a straggler still holds a file open, so no mount
 * is ever left behind) and removes the mount points. Call it in `afterEach`, after killing any
 * child process that used them.
 */
export function unmountAll(): void {
  for (const dir of mounts) {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
    rmSync(dir, { recursive: true, force: true });
    mounts.delete(dir);
  }
}
