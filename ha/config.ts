/** The configuration files of the failover run's Patroni nodes and HAProxy. */
import { join } from 'node:path';
import type { Node } from './cluster';

export const PG_BIN = process.env.HA_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * Patroni (JSON is YAML). synchronous_mode: a commit returns once the standby has flushed it, and
 * only that standby may be promoted, so a failover loses no acknowledged write. Not strict: with
 * its standby gone the primary goes on alone rather than refusing writes (two nodes; see README).
 */
export function patroniConfig(
  name: string,
  home: string,
  dataDir: string,
  pgPort: number,
  restPort: number,
  etcdPort: number,
) {
  const trust = ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host replication all 127.0.0.1/32 trust'];
  return {
    scope: 'mailroom-ha',
    name,
    log: { level: 'INFO' },
    restapi: { listen: `127.0.0.1:${restPort}`, connect_address: `127.0.0.1:${restPort}` },
    etcd3: { hosts: [`127.0.0.1:${etcdPort}`] },
    bootstrap: {
      dcs: {
        ttl: 20,
        loop_wait: 2,
        retry_timeout: 5,
        maximum_lag_on_failover: 1048576,
        synchronous_mode: true,
        synchronous_mode_strict: false,
        postgresql: {
          use_pg_rewind: true,
          parameters: { synchronous_commit: 'on', wal_log_hints: 'on', max_connections: 100, shared_buffers: '32MB' },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { 'auth-local': 'trust' }, { 'auth-host': 'trust' }],
      pg_hba: trust,
    },
    postgresql: {
      listen: `127.0.0.1:${pgPort}`,
      connect_address: `127.0.0.1:${pgPort}`,
      data_dir: dataDir,
      bin_dir: PG_BIN,
      pgpass: join(home, 'pgpass'),
      pg_hba: trust,
      authentication: {
        superuser: { username: 'postgres', password: 'postgres' },
        replication: { username: 'replicator', password: 'replicator' },
        rewind: { username: 'postgres', password: 'postgres' },
      },
      parameters: {
        unix_socket_directories: home,
        logging_collector: 'on',
        log_directory: join(home, 'log'), // outside the data folder, which the standby's clone copies
        log_filename: 'postgresql.log',
      },
    },
  };
}

/**
 * HAProxy forwards to the node whose Patroni answers 200 on /primary, checked twice a second;
 * a node marked down has its sessions cut, so no client stays on a demoted or orphaned primary.
 */
export function haproxyConfig(port: number, nodes: Node[]): string {
  return [
    'global',
    '  maxconn 500',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 2s',
    'listen postgres',
    `  bind 127.0.0.1:${port}`,
    '  option httpchk GET /primary',
    '  http-check expect status 200',
    '  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions',
    ...nodes.map((n) => `  server ${n.name} 127.0.0.1:${n.pgPort} check port ${n.restPort}`),
    '',
  ].join('\n');
}
