// Samples a whole process tree from /proc — a crawler and every Chromium process it starts — for
// bench/render.bench.ts's "peak RSS (crawler + browsers)" and a CPU cross-check of GNU time, and
// for the rendered-crawl memory test.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
export const CLK_TCK = 100;

const PAGE_KB = 4;

/** What {@link sampleProcessTree} saw over a run. */
export interface TreeUsage {
  /** The largest sum of RSS over the tree's processes at one sample, in KiB (shared pages count once per process). */
  peakRssKB: number;
  /**
   * The largest sum of PSS (smaps_rollup: each shared page split among its sharers) at one PSS
   * sample, in KiB. PSS is read at most every {@link PSS_MIN_GAP_MS} (reading smaps_rollup walks
   * the page tables: milliseconds for each Chromium process) — whenever the RSS sum reaches a new
   * peak, and at least every {@link PSS_MAX_GAP_MS}.
   */
  peakPssKB: number;
  /** Σ over every process seen of its last sampled user + system CPU, in ms (misses each process's last interval). */
  cpuMs: number;
  /** Distinct processes seen (pid + start time). */
  processes: number;
  /** The most processes alive in the tree at one sample. */
  peakProcesses: number;
  samples: number;
  pssSamples: number;
  /** This process's own CPU spent sampling, in ms (the sampler runs beside the crawl, on the same cores). */
  samplerCpuMs: number;
}

/** Fewest ms between two PSS samples. */
export const PSS_MIN_GAP_MS = 250;
/** Most ms between two PSS samples. */
export const PSS_MAX_GAP_MS = 1000;

interface Proc {
  ppid: number;
  /** Start time in clock ticks since boot: with the pid it names one process (pids are reused). */
  start: string;
  cpuTicks: number;
  rssKB: number;
}

/** /proc/PID/stat of every process, or of none that vanished while read. */
function readAll(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after `(comm)` (which may hold spaces): [0] state (field 3), [1] ppid, [11] utime,
    // [12] stime, [19] starttime, [21] rss in pages.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(Number(name), {
      ppid: Number(f[1]),
      start: f[19]!,
      cpuTicks: Number(f[11]) + Number(f[12]),
      rssKB: Number(f[21]) * PAGE_KB,
    });
  }
  return out;
}

/** The `Pss:` of /proc/PID/smaps_rollup in KiB; 0 if the process is gone (or a kernel thread). */
function pssKB(pid: number): number {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return 0;
  }
  const m = /^Pss:\s+(\d+) kB/m.exec(text);
  return m === null ? 0 : Number(m[1]);
}

/**
 * Starts sampling the descendants of `rootPid` (the root itself excluded: the benchmark roots it
 * at reap-tree.py, whose child is the crawler) every `intervalMs` until `stop()`, which takes a last
 * sample and returns the totals. Each sample walks the parent links of every process in /proc,
 * so a process reparented away from the tree (an orphan adopted by init) is no longer counted —
 * unless the root is a child subreaper (reap-tree.py is), which adopts them itself.
 * Memory between samples is not seen: a peak shorter than the interval may be missed.
 */
export function sampleProcessTree(rootPid: number, intervalMs = 100): { stop(): TreeUsage } {
  const cpu = new Map<string, number>();
  let peakRssKB = 0;
  let peakPssKB = 0;
  let peakProcesses = 0;
  let samples = 0;
  let pssSamples = 0;
  let lastPss = Number.NEGATIVE_INFINITY;
  const cpu0 = process.cpuUsage();
  const sample = (): void => {
    const all = readAll();
    const children = new Map<number, number[]>();
    for (const [pid, p] of all) {
      const list = children.get(p.ppid);
      if (list === undefined) children.set(p.ppid, [pid]);
      else list.push(pid);
    }
    let rss = 0;
    const tree: number[] = [];
    const stack = [...(children.get(rootPid) ?? [])];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      const p = all.get(pid)!;
      tree.push(pid);
      rss += p.rssKB;
      cpu.set(`${pid}@${p.start}`, p.cpuTicks);
      stack.push(...(children.get(pid) ?? []));
    }
    samples++;
    const now = performance.now();
    const gap = now - lastPss;
    if ((rss > peakRssKB && gap >= PSS_MIN_GAP_MS) || gap >= PSS_MAX_GAP_MS) {
      let pss = 0;
      for (const pid of tree) pss += pssKB(pid);
      peakPssKB = Math.max(peakPssKB, pss);
      pssSamples++;
      lastPss = now;
    }
    peakRssKB = Math.max(peakRssKB, rss);
    peakProcesses = Math.max(peakProcesses, tree.length);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      let ticks = 0;
      for (const t of cpu.values()) ticks += t;
      return {
        peakRssKB,
        peakPssKB,
        cpuMs: (ticks * 1000) / CLK_TCK,
        processes: cpu.size,
        peakProcesses,
        samples,
        pssSamples,
        samplerCpuMs: (() => {
          const c = process.cpuUsage(cpu0);
          return (c.user + c.system) / 1000;
        })(),
      };
    },
  };
}
