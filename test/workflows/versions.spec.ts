import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { Workflow, Workflows, type PersistedActor } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';

/** v1: draft → review → published. v2 renames review to checking and adds approval. */
const v1 = createMachine({
  id: 'article',
  version: '1',
  initial: 'draft',
  states: {
    draft: { on: { SUBMIT: 'review' } },
    review: { on: { PUBLISH: 'published' } },
    published: { type: 'final' },
  },
});
const v2 = createMachine({
  id: 'article',
  version: '2',
  initial: 'draft',
  states: {
    draft: { on: { SUBMIT: 'checking' } },
    checking: { on: { APPROVE: 'approved' } },
    approved: { on: { PUBLISH: 'published' } },
    published: { type: 'final' },
  },
});

@Workflow(v1)
@Injectable()
class ArticleV1 {}

@Workflow(v2, { previous: [v1] })
@Injectable()
class ArticleV2KeepsV1 {}

/** v2 without v1: v1 snapshots are mapped, review → checking; anything else cannot be. */
const migrate = (snapshot: PersistedActor, from: string): PersistedActor | null => {
  if (from !== '1') return null;
  if (snapshot.value === 'review') return { ...snapshot, value: 'checking' };
  if (snapshot.value === 'draft') return snapshot;
  return null;
};
@Workflow(v2, { migrate })
@Injectable()
class ArticleV2Migrates {}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function deploy<T>(provider: new () => object, work: (workflows: Workflows) => Promise<T>): Promise<T> {
  const app = await startNestApp(db.url, [provider]);
  try {
    return await work(app.get(Workflows));
  } finally {
    await app.close();
  }
}

describe('workflow versions', () => {
  it('keeps v1 instances on v1 after v2 is deployed with v1 still registered; new ones start on v2', async () => {
    const old = randomUUID();
    await deploy(ArticleV1, async (w) => {
      await w.start('article', old);
      await w.send('article', old, { type: 'SUBMIT' });
    });
    await deploy(ArticleV2KeepsV1, async (w) => {
      expect(await w.send('article', old, { type: 'PUBLISH' })).toMatchObject({
        outcome: 'applied',
        state: 'published',
      });
      expect((await w.get('article', old)).version).toBe('1');
      const fresh = randomUUID();
      await w.start('article', fresh);
      expect(await w.send('article', fresh, { type: 'SUBMIT' })).toMatchObject({ state: 'checking' });
      expect((await w.get('article', fresh)).version).toBe('2');
      expect((await w.admin.definition('article')).versions.map((v) => v.version)).toEqual(['1', '2']);
    });
  });

  it('migrates a v1 instance with the declared migrate() when v1 is no longer registered', async () => {
    const key = randomUUID();
    await deploy(ArticleV1, async (w) => {
      await w.start('article', key);
      await w.send('article', key, { type: 'SUBMIT' });
    });
    await deploy(ArticleV2Migrates, async (w) => {
      expect(await w.unmappable('article')).not.toContainEqual(expect.objectContaining({ key }));
      expect(await w.send('article', key, { type: 'APPROVE' })).toMatchObject({
        outcome: 'applied',
        state: 'approved',
      });
      expect((await w.get('article', key)).version).toBe('2');
    });
  });

  it('reports an instance whose state no registered version or migration knows as failed, with the reason', async () => {
    const key = randomUUID();
    await deploy(ArticleV1, async (w) => {
      await w.start('article', key);
      await w.send('article', key, { type: 'SUBMIT' });
    });
    // Stored by code that is gone (a state v1 never had): the row is what a past deploy left.
    await db.dataSource.query(
      `UPDATE mailroom_workflow_instance SET snapshot = jsonb_set(snapshot, '{value}', '"limbo"'), state = 'limbo', state_value = '"limbo"' WHERE key = $1`,
      [key],
    );
    await deploy(ArticleV1, async (w) => {
      expect(await w.send('article', key, { type: 'PUBLISH' })).toMatchObject({ outcome: 'failed', status: 'failed' });
      const instance = await w.get('article', key);
      expect(instance.failure).toMatch(/stored state limbo is unknown to version 1/);
      expect(instance.history[0]).toMatchObject({ outcome: 'failed' });
    });
    const unmapped = randomUUID();
    await deploy(ArticleV1, async (w) => {
      await w.start('article', unmapped);
      await w.send('article', unmapped, { type: 'SUBMIT' });
      await w.send('article', unmapped, { type: 'PUBLISH' });
    });
    await db.dataSource.query(`UPDATE mailroom_workflow_instance SET status = 'running' WHERE key = $1`, [unmapped]);
    await deploy(ArticleV2Migrates, async (w) => {
      expect(await w.unmappable('article')).toContainEqual(expect.objectContaining({ key: unmapped, version: '1' }));
      expect(await w.send('article', unmapped, { type: 'APPROVE' })).toMatchObject({ outcome: 'failed' });
      expect((await w.get('article', unmapped)).failure).toMatch(
        /version 1 is not registered and no migrate\(\) maps it/,
      );
    });
  });

  it('runs a failed instance again on retry once its state resolves', async () => {
    const key = randomUUID();
    await deploy(ArticleV1, async (w) => {
      await w.start('article', key);
      await w.send('article', key, { type: 'SUBMIT' });
    });
    await db.dataSource.query(`UPDATE mailroom_workflow_instance SET machine_version = '0' WHERE key = $1`, [key]);
    await deploy(ArticleV2KeepsV1, async (w) => {
      expect(await w.send('article', key, { type: 'PUBLISH' })).toMatchObject({ status: 'failed' });
    });
    await db.dataSource.query(`UPDATE mailroom_workflow_instance SET machine_version = '1' WHERE key = $1`, [key]);
    await deploy(ArticleV2KeepsV1, async (w) => {
      expect(await w.retry('article', key)).toMatchObject({ outcome: 'retried', status: 'running', state: 'review' });
      expect(await w.send('article', key, { type: 'PUBLISH' })).toMatchObject({ status: 'done' });
    });
  });
});
