import { DEFAULT_URL } from './api';
import { usageOf, type Command } from './command';

/** What scripts may rely on; listed in --help. Never reuse a number for another meaning. */
export const EXIT = {
  ok: 0,
  usage: 1,
  api: 2,
  unreachable: 3,
  /** A bug in the CLI itself (70 is EX_SOFTWARE in sysexits.h). */
  internal: 70,
} as const;

const code = (exit: number) => String(exit).padEnd(4);

export function helpText(commands: Command[]): string {
  const lines = commands.flatMap((command) => {
    const usage = usageOf(command);
    return usage.length <= 34
      ? [`  ${usage.padEnd(34)} ${command.summary}`]
      : [`  ${usage}`, `  ${''.padEnd(34)} ${command.summary}`];
  });
  return `mailroom: the command line of a Mailroom broker, over its REST API

Usage: mailroom [--json] COMMAND [ARGUMENTS] [OPTIONS]

Commands:
${lines.join('\n')}

Options:
  --json        Print the result as JSON on stdout (an error as { "error": { "code", "message" } })
  --all         Every dead letter of the queue (of --reason, if given)
  --id ID       One dead letter; repeat for more. With send: the message's id, stored once if sent again
  --reason R    Only dead letters of this reason: max_deliveries, rejected, lease_expired, expired
  --to QUEUE    Redrive into QUEUE (it must exist) instead of the queue they failed in
  --rate N      Redrive at most N messages a second
  --batch N     Dead letters moved per request (default 1000, or N with --rate)
  --status S    Workflow instances of this status: running, done, failed, cancelled
  --state PATH  Workflow instances in this state (a dotted path such as shipping.waiting)
  --tag T       Workflow instances whose state has this tag
  --scope S     keys create: a scope such as produce:orders-*, consume:*, manage:billing or admin; repeat for more
  --key KEY     The API key to send (default MAILROOM_KEY)
  --help, -h    Show this help

Environment:
  MAILROOM_URL  The broker's base URL (default ${DEFAULT_URL})
  MAILROOM_KEY  The API key sent as "Authorization: Bearer" (the broker prints one on first start)

Exit codes:
  ${code(EXIT.ok)}success
  ${code(EXIT.usage)}usage error: unknown command or option, missing argument, --body not JSON
  ${code(EXIT.api)}the broker refused the request: "code: message" on stderr (with --json, the error on stdout)
  ${code(EXIT.unreachable)}cannot reach the broker: not running, wrong MAILROOM_URL, or no answer within 60 s
  ${code(EXIT.internal)}a bug in mailroom itself (please report it with the trace it printed)
`;
}
