import { describe, expect, it } from 'vitest';
import { resolveMailroomOptions } from './mailroom.options';

describe('Mailroom options for a transaction pooler', () => {
  it('defaults to named prepared statements and the DataSource for LISTEN', () => {
    expect(resolveMailroomOptions({})).toMatchObject({ preparedStatements: true, directConnection: null });
  });

  it('takes a direct connection as a URL or pg settings', () => {
    expect(resolveMailroomOptions({ directConnection: 'postgres://u@db:5432/app' }).directConnection).toEqual({
      connectionString: 'postgres://u@db:5432/app',
    });
    expect(resolveMailroomOptions({ directConnection: { host: 'db', port: 5432 } }).directConnection).toEqual({
      host: 'db',
      port: 5432,
    });
  });

  it('fails fast naming the option', () => {
    expect(() => resolveMailroomOptions({ preparedStatements: 'off' as never })).toThrow(
      /"preparedStatements" must be a boolean/,
    );
    expect(() => resolveMailroomOptions({ directConnection: 'db:5432' })).toThrow(/"directConnection" must be a URL/);
  });
});
