import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { Workflow, Workflows } from '@mailroom/core';
import { mailroom } from '../cli/cli';
import { startBroker, type TestBroker } from '../rest/broker';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

const shipment = createMachine({
  id: 'shipment',
  initial: 'packing',
  states: {
    packing: { tags: ['warehouse'], on: { PACKED: 'shipping' } },
    shipping: {
      initial: 'waiting',
      states: { waiting: { on: { PICKED: 'moving' } }, moving: {} },
      on: { DELIVERED: 'delivered' },
    },
    delivered: { type: 'final' },
  },
});

@Workflow(shipment)
@Injectable()
class ShipmentWorkflow {}

let broker: TestBroker;
let app: INestApplicationContext;
let workflows: Workflows;
const [packing, shipping, other] = [randomUUID(), randomUUID(), randomUUID()];

beforeAll(async () => {
  broker = await startBroker();
  // The app that owns the workflow's code, on the broker's database.
  app = await startNestApp(broker.db.url, [ShipmentWorkflow]);
  workflows = app.get(Workflows);
  for (const key of [packing, shipping, other]) await workflows.start(ShipmentWorkflow, key);
  await workflows.send(ShipmentWorkflow, shipping, { type: 'PACKED' });
});
afterAll(async () => {
  await app?.close();
  await broker?.close();
});

const path = (key: string, rest = '') => `/v1/workflows/shipment/instances/${key}${rest}`;
const keys = (reply: { body: { instances: { key: string }[] } }) => reply.body.instances.map((i) => i.key).sort();

describe('workflows over REST', () => {
  it('lists the registered workflows with their versions', async () => {
    const reply = await broker.call('GET', '/v1/workflows');
    expect(reply.status).toBe(200);
    expect(reply.body.workflows).toEqual([expect.objectContaining({ name: 'shipment', versions: ['1'] })]);
  });

  it('lists instances filtered by status, state path and tag, a page at a time', async () => {
    expect(keys(await broker.call('GET', '/v1/workflows/shipment/instances?status=running'))).toEqual(
      [packing, shipping, other].sort(),
    );
    expect(keys(await broker.call('GET', '/v1/workflows/shipment/instances?state=shipping'))).toEqual([shipping]);
    expect(keys(await broker.call('GET', '/v1/workflows/shipment/instances?state=shipping.waiting'))).toEqual([
      shipping,
    ]);
    expect(keys(await broker.call('GET', '/v1/workflows/shipment/instances?tag=warehouse'))).toEqual(
      [packing, other].sort(),
    );
    const first = await broker.call('GET', '/v1/workflows/shipment/instances?limit=2');
    const second = await broker.call('GET', `/v1/workflows/shipment/instances?limit=2&cursor=${first.body.nextCursor}`);
    expect([...keys(first), ...keys(second)].sort()).toEqual([packing, shipping, other].sort());
    expect((await broker.call('GET', '/v1/workflows/shipment/instances?status=sleeping')).status).toBe(400);
    expect((await broker.call('GET', '/v1/workflows/nope/instances')).status).toBe(404);
  });

  it('shows one instance with its snapshot and transitions; an unknown key or workflow is 404', async () => {
    const reply = await broker.call('GET', path(shipping));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      key: shipping,
      status: 'running',
      state: { shipping: 'waiting' },
      version: '1',
    });
    expect(reply.body.history.map((h: { outcome: string }) => h.outcome)).toEqual(['applied', 'started']);
    expect((await broker.call('GET', path('missing'))).status).toBe(404);
    expect((await broker.call('GET', '/v1/workflows/nope/instances/x')).body.error.code).toBe('workflow_not_found');
  });

  it('hands an event to the app’s workers; a malformed one is 400 and changes nothing', async () => {
    for (const bad of [{}, { type: 5 }, ['PICKED'], { type: 'xstate.after.1.shipment.packing' }]) {
      expect((await broker.call('POST', path(shipping, '/events'), bad)).status).toBe(400);
    }
    expect((await broker.call('POST', path('missing', '/events'), { type: 'PICKED' })).status).toBe(404);
    expect((await broker.call('GET', path(shipping))).body.history).toHaveLength(2);
    expect((await broker.call('POST', path(shipping, '/events'), { type: 'PICKED' })).status).toBe(202);
    await until(async () => (await broker.call('GET', path(shipping))).body.history.length === 3);
    expect((await broker.call('GET', path(shipping))).body.state).toEqual({ shipping: 'moving' });
  });

  it('draws the machine as Mermaid text with the active states highlighted', async () => {
    const { status, body } = await broker.call('GET', path(shipping, '/diagram'));
    expect(status).toBe(200);
    expect(body.format).toBe('mermaid');
    const text: string = body.diagram;
    expect(text).toMatch(/^stateDiagram-v2\n/);
    expect(text).toContain('shipment_packing --> shipment_shipping: PACKED');
    expect(text).toContain('class shipment_shipping,shipment_shipping_moving active');
  });

  it('cancels an instance (then later events are ignored); cancelling again or retrying a running one is 409', async () => {
    const reply = await broker.call('POST', path(other, '/cancel'));
    expect(reply).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect((await broker.call('POST', path(other, '/cancel'))).status).toBe(409);
    expect((await broker.call('POST', path(packing, '/retry'))).status).toBe(409);
    expect(await workflows.send(ShipmentWorkflow, other, { type: 'PACKED' })).toMatchObject({
      outcome: 'ignored',
      state: 'packing',
    });
  });
});

describe('workflows from the command line', () => {
  it('lists workflows and instances and shows one', async () => {
    const run = (...args: string[]) => mailroom(broker.url, ...args);
    expect((await run('workflows', 'ls')).stdout).toMatch(/^shipment\s+1$/m);
    const listed = await run('workflows', 'instances', 'shipment', '--state', 'shipping');
    expect(listed.stdout).toMatch(new RegExp(`^${shipping}\\s+running\\s+\\{"shipping":"moving"\\}\\s+1\\s`, 'm'));
    const shown = await run('workflows', 'show', 'shipment', shipping, '--json');
    expect(shown.json).toEqual((await broker.call('GET', path(shipping))).body);
    expect((await run('workflows', 'show', 'shipment', 'missing')).code).toBe(2);
  });
});

describe('the migration dry run over REST and the command line', () => {
  it('lists running instances whose version or stored state no registered machine has, with why', async () => {
    const [unknownState, unknownVersion, fine] = [randomUUID(), randomUUID(), randomUUID()];
    for (const key of [unknownState, unknownVersion, fine]) await workflows.start(ShipmentWorkflow, key);
    // What code that is gone left behind: a nested state v1 never had, and a version no app registers.
    await broker.db.dataSource.query(
      `UPDATE mailroom_workflow_instance SET snapshot = jsonb_set(snapshot, '{value}', '{"shipping":"limbo"}') WHERE key = $1`,
      [unknownState],
    );
    await broker.db.dataSource.query(`UPDATE mailroom_workflow_instance SET machine_version = '0' WHERE key = $1`, [
      unknownVersion,
    ]);
    const reply = await broker.call('GET', '/v1/workflows/shipment/unmappable');
    expect(reply.status).toBe(200);
    const byKey = (k: string) => reply.body.instances.find((i: { key: string }) => i.key === k);
    expect(byKey(unknownState)).toEqual({
      key: unknownState,
      version: '1',
      reason: 'stored state shipping.limbo is unknown to version 1',
    });
    expect(byKey(unknownVersion)).toMatchObject({ version: '0', reason: expect.stringMatching(/not registered/) });
    expect(byKey(fine)).toBeUndefined();
    expect(reply.body.instances).toHaveLength(2);
    expect((await broker.call('GET', '/v1/workflows/nope/unmappable')).status).toBe(404);

    const run = (...args: string[]) => mailroom(broker.url, ...args);
    const listed = await run('workflows', 'unmappable', 'shipment');
    expect(listed.stdout).toMatch(new RegExp(`^${unknownState}\\s+1\\s+stored state shipping.limbo`, 'm'));
    expect((await run('workflows', 'unmappable', 'shipment', '--json')).json).toEqual(reply.body);
    expect((await run('workflows', 'unmappable', 'nope')).code).toBe(2);
  });
});
