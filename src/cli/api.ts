import { UsageError } from './args';

/** The broker's error body: `{ error: { code, message, field? } }`. */
export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
  [more: string]: unknown;
}

/** The broker answered, and refused: exit code 2. */
export class ApiError extends Error {
  readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(`${body.code}: ${body.message}`);
  }
}

/** No broker answered (refused, timed out, or something else answered): exit code 3. */
export class UnreachableError extends Error {
  readonly name = 'UnreachableError';
}

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** Longer than any one request the CLI makes: a redrive moves a bounded slice per request. */
const TIMEOUT_MS = 60_000;

/** The broker's REST API, over global fetch. */
export class Api {
  private readonly base: URL;

  /** `key`: the API key sent as `Authorization: Bearer` (MAILROOM_KEY or --key). */
  constructor(
    url: string,
    private readonly key?: string,
  ) {
    const base = URL.canParse(url) ? new URL(url) : null;
    if (!base || (base.protocol !== 'http:' && base.protocol !== 'https:')) {
      throw new UsageError(`MAILROOM_URL must be an http(s) URL such as ${DEFAULT_URL}, not "${url}"`);
    }
    // A trailing slash, so a broker behind a path prefix keeps its prefix.
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
  }

  get url(): string {
    return this.base.href;
  }

  get<T>(path: string[], query: Record<string, string | undefined> = {}): Promise<T> {
    return this.request<T>('GET', path, undefined, query);
  }

  post<T>(path: string[], body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  delete(path: string[]): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  /** `path` is segments, each escaped: a queue name can never reach another route. */
  private async request<T>(
    method: string,
    path: string[],
    body?: unknown,
    query: Record<string, string | undefined> = {},
  ): Promise<T> {
    const url = new URL(path.map(encodeURIComponent).join('/'), this.base);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(this.key === undefined ? {} : { authorization: `Bearer ${this.key}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      text = await response.text();
    } catch (error) {
      throw new UnreachableError(
        `cannot reach the broker at ${this.url} (${reason(error)}); is it running, and is MAILROOM_URL right?`,
      );
    }
    if (response.ok && text === '') return undefined as T;
    const parsed = parseJson(text);
    if (response.ok && parsed !== undefined) return parsed as T;
    const error = (parsed as { error?: ApiErrorBody } | undefined)?.error;
    if (typeof error?.code === 'string' && typeof error.message === 'string')
      throw new ApiError(response.status, error);
    throw new UnreachableError(
      `${this.url} answered HTTP ${response.status} without a Mailroom response; is MAILROOM_URL a Mailroom broker?`,
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch says only "fetch failed": the useful part (ECONNREFUSED, ENOTFOUND...) is in its cause. */
function reason(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
