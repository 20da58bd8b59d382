import { UsageError } from './args';
import type { Command } from './command';
import { fields, table } from './output';

interface Key {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
}

const create: Command = {
  words: ['keys', 'create'],
  args: ['NAME'],
  options: { scope: 'list' },
  usage: '--scope SCOPE ...',
  summary: 'Create an API key (printed once: store it now)',
  async run({ args: [name], options, api, out }) {
    const scopes = options.lists.get('scope');
    if (!scopes) throw new UsageError('give the key at least one --scope, e.g. --scope produce:orders-*');
    const key = await api.post<Key & { key: string }>(['v1', 'keys'], { name, scopes });
    out.result(key, (k) =>
      fields([
        ['id', k.id],
        ['name', k.name],
        ['scopes', k.scopes.join(' ')],
        ['key', k.key],
      ]),
    );
    out.note('The key is shown only now: the broker keeps only a hash of it.');
  },
};

const list: Command = {
  words: ['keys', 'ls'],
  args: [],
  options: {},
  summary: 'List API keys (ids, names, scopes; never the keys)',
  async run({ api, out }) {
    const result = await api.get<{ keys: Key[] }>(['v1', 'keys']);
    out.result(result, ({ keys }) =>
      table(
        ['ID', 'NAME', 'SCOPES', 'CREATED', 'REVOKED'],
        keys.map((k) => [k.id, k.name, k.scopes.join(' '), k.createdAt, k.revokedAt ?? '-']),
      ),
    );
  },
};

const revoke: Command = {
  words: ['keys', 'revoke'],
  args: ['ID'],
  options: {},
  summary: 'Revoke an API key at once, on every broker sharing the database',
  async run({ args: [id], api, out }) {
    await api.delete(['v1', 'keys', id]);
    out.result({ revoked: id }, () => `Revoked key ${id}.`);
  },
};

export const keyCommands = [create, list, revoke];
