export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; fails the test after `ms` rather than hanging it. */
export async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${check.toString()}`);
    await sleep(20);
  }
}

/** Polls `probe` until `ok` accepts its value, and returns that value. */
export async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  let value = await probe();
  await until(async () => ok((value = await probe())), ms);
  return value;
}
