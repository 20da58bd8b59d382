import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/stat (USER_HZ: 100 on every Linux the bench runs on). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds the whole machine has spent busy since boot, every process and the kernel
 * (user, nice, system, irq, softirq; not idle, iowait or steal), from /proc/stat; null
 * where there is none. Two readings around a timed section give what the section cost
 * every process on the machine together: the client, the broker or server, Postgres.
 * Wall-clock time on a shared machine moves with the neighbours; this moves far less.
 */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [user, nice, system, , , irq, softirq] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Machine CPU µs per message between a reading taken before the section and now, or undefined. */
export function cpuPerMessage(before: number | null, messages: number): number | undefined {
  const after = machineBusySeconds();
  return before === null || after === null || messages === 0 ? undefined : ((after - before) * 1e6) / messages;
}
