/** Command-line settings of `npm run bench -- [--n 20000] [--runs 3] [--only ...]`. */
export interface BenchArgs {
  n: number;
  /** Per-workload message counts that override `n` (`--n-w1 5000`). */
  nFor: Record<string, number>;
  runs: number;
  /** System ids and workload ids to keep; empty keeps everything. */
  only: string[];
  concurrency: number;
  batch: number;
  timeoutMs: number;
  latencyCount: number;
  /** W4 sends before the sampled ones (delivered and verified, not sampled): no system's cold start is its p99. */
  latencyWarmup: number;
  spacingMs: number;
  out: string;
  hotpath: boolean;
}

const USAGE = `usage: npm run bench -- [--n 20000] [--runs 3] [--only mailroom,pg-boss,W1,W3]
  [--n-w1 N ...] [--concurrency 10] [--batch 10] [--timeout 300] [--latency-n 1000] [--latency-warmup 50]
  [--spacing-ms 2] [--out bench/RESULTS.md] [--no-hotpath]`;

export function parseArgs(argv: string[]): BenchArgs {
  const args: BenchArgs = {
    n: 20_000,
    nFor: {},
    runs: 3,
    only: [],
    concurrency: 10,
    batch: 10,
    timeoutMs: 300_000,
    latencyCount: 1_000,
    latencyWarmup: 50,
    spacingMs: 2,
    out: 'bench/RESULTS.md',
    hotpath: true,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    const int = (min: number, max: number) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < min || v > max) fail(`${flag} must be an integer from ${min} to ${max}`);
      return v;
    };
    if (flag === '--n') args.n = int(1, 10_000_000);
    else if (/^--n-w\d+[a-z]?$/i.test(flag)) args.nFor[flag.slice(4).toUpperCase()] = int(1, 10_000_000);
    else if (flag === '--runs') args.runs = int(1, 50);
    else if (flag === '--only')
      args.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (flag === '--concurrency') args.concurrency = int(1, 100);
    else if (flag === '--batch') args.batch = int(1, 100);
    else if (flag === '--timeout') args.timeoutMs = int(1, 3_600) * 1000;
    else if (flag === '--latency-n') args.latencyCount = int(1, 100_000);
    else if (flag === '--latency-warmup') args.latencyWarmup = int(0, 100_000);
    else if (flag === '--spacing-ms') args.spacingMs = int(0, 1_000);
    else if (flag === '--out') args.out = value();
    else if (flag === '--no-hotpath') args.hotpath = false;
    else if (flag === '--help' || flag === '-h') fail('');
    else fail(`unknown option ${flag}`);
  }
  return args;
}

function fail(message: string): never {
  if (message) console.error(message);
  console.error(USAGE);
  process.exit(message ? 2 : 0);
}
