/**
 * The scheduler's own accounts of a process's threads (Linux `/proc/<pid>/task/<tid>/schedstat`):
 * for each thread, ns on a CPU and ns runnable but waiting for one (the run-queue delay). CPU
 * profiles sample wall time and charge a thread's waits to whatever it was doing; these say
 * which part was work. Undefined where they cannot be read (not Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTimes {
  cpuNs: number;
  waitNs: number;
}

/** By thread id; the main thread's id is the pid. A thread that ends while it is read is left out. */
export function threadTimes(pid: number | undefined): Map<string, ThreadTimes> | undefined {
  if (pid === undefined) return undefined;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out = new Map<string, ThreadTimes>();
  for (const tid of tids) {
    try {
      const [cpu, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(tid, { cpuNs: cpu ?? 0, waitNs: wait ?? 0 });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}
