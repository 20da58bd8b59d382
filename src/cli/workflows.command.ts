import type { Command } from './command';
import { fields, table } from './output';

interface Instance {
  key: string;
  version: string;
  status: string;
  state: unknown;
  tags: string[];
  failure: string | null;
  updatedAt: string;
}

interface Detail extends Instance {
  waits: { id: string; kind: string; dueAt: string | null }[];
  history: { outcome: string; event: { type: string }; detail: string | null; at: string }[];
}

const stateText = (state: unknown) => (typeof state === 'string' ? state : JSON.stringify(state));

const list: Command = {
  words: ['workflows', 'ls'],
  args: [],
  options: {},
  summary: 'List the registered workflows and their versions',
  async run({ api, out }) {
    const result = await api.get<{ workflows: { name: string; versions: string[] }[] }>(['v1', 'workflows']);
    out.result(result, ({ workflows }) =>
      workflows.length === 0
        ? 'No workflows.'
        : table(
            ['NAME', 'VERSIONS'],
            workflows.map((w) => [w.name, w.versions.join(', ')]),
          ),
    );
  },
};

const instances: Command = {
  words: ['workflows', 'instances'],
  args: ['NAME'],
  options: { status: 'value', state: 'value', tag: 'value', limit: 'value', cursor: 'value' },
  usage: '[--status S] [--state PATH] [--tag T] [--limit N] [--cursor C]',
  summary: "A page of a workflow's instances",
  async run({ args: [name], options, api, out }) {
    const query = Object.fromEntries(
      ['status', 'state', 'tag', 'limit', 'cursor'].map((k) => [k, options.values.get(k)]),
    );
    const page = await api.get<{ instances: Instance[]; nextCursor: string | null }>(
      ['v1', 'workflows', name, 'instances'],
      query,
    );
    out.result(page, ({ instances: rows, nextCursor }) =>
      rows.length === 0
        ? 'No instances.'
        : table(
            ['KEY', 'STATUS', 'STATE', 'VERSION', 'UPDATED'],
            rows.map((i) => [i.key, i.status, stateText(i.state), i.version, i.updatedAt]),
          ) + (nextCursor ? `\nmore: --cursor ${nextCursor}` : ''),
    );
  },
};

const show: Command = {
  words: ['workflows', 'show'],
  args: ['NAME', 'KEY'],
  options: {},
  summary: 'One instance: state, pending timers and activities, last transitions',
  async run({ args: [name, key], api, out }) {
    const instance = await api.get<Detail>(['v1', 'workflows', name, 'instances', key]);
    out.result(instance, (i) =>
      [
        fields([
          ['key', i.key],
          ['status', i.status],
          ['state', stateText(i.state)],
          ['version', i.version],
          ['failure', i.failure ?? '-'],
          ...i.waits.map((w): [string, string] => [`waits ${w.kind}`, `${w.id}${w.dueAt ? ` due ${w.dueAt}` : ''}`]),
        ]),
        table(
          ['AT', 'OUTCOME', 'EVENT', 'DETAIL'],
          i.history.map((h) => [h.at, h.outcome, h.event.type, h.detail ?? '']),
        ),
      ].join('\n'),
    );
  },
};

const unmappable: Command = {
  words: ['workflows', 'unmappable'],
  args: ['NAME'],
  options: {},
  summary: 'Migration dry run: running instances the registered versions cannot run as stored',
  async run({ args: [name], api, out }) {
    const result = await api.get<{ instances: { key: string; version: string; reason: string }[] }>([
      'v1',
      'workflows',
      name,
      'unmappable',
    ]);
    out.result(result, ({ instances: rows }) =>
      rows.length === 0
        ? 'Every running instance maps.'
        : table(
            ['KEY', 'VERSION', 'REASON'],
            rows.map((i) => [i.key, i.version, i.reason]),
          ),
    );
  },
};

export const workflowCommands = [list, instances, show, unmappable];
