import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The broker's access control (src/auth): API keys (only a slow hash of each is kept), the
 * audit trail of management actions, and the secrets receipts are signed with at the REST
 * edge. Broker-only tables: they are in `brokerMigrations` (../broker-migrations.ts), which the
 * broker runs at start after `mailroomMigrations`; an application using the library in-process
 * never creates them.
 */
export class BrokerAuth1732000000008 implements MigrationInterface {
  name = 'BrokerAuth1732000000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mailroom_api_key (
        id         text PRIMARY KEY,
        name       text NOT NULL,
        hash       text NOT NULL,
        scopes     text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`COMMENT ON TABLE mailroom_api_key IS
      'Broker API keys: id is a prefix of the key''s SHA-256 (to find the row), hash its scrypt hash; the key itself is never stored.'`);

    await q.query(`
      CREATE TABLE mailroom_audit (
        id       bigserial PRIMARY KEY,
        at       timestamptz NOT NULL DEFAULT now(),
        key_id   text,
        key_name text,
        action   text NOT NULL,
        target   text NOT NULL,
        status   integer NOT NULL
      )`);
    await q.query(`COMMENT ON TABLE mailroom_audit IS
      'Management and admin requests the broker served: who (key), what (operation), target (path), the HTTP status.'`);

    await q.query(`
      CREATE TABLE mailroom_receipt_secret (
        id         serial PRIMARY KEY,
        secret     bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`COMMENT ON TABLE mailroom_receipt_secret IS
      'HMAC secrets for REST receipts: the newest signs, the newest two verify (rotation keeps in-flight receipts valid).'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mailroom_receipt_secret`);
    await q.query(`DROP TABLE mailroom_audit`);
    await q.query(`DROP TABLE mailroom_api_key`);
  }
}
