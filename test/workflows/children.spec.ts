import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, createMachine, fromPromise, setup } from 'xstate';
import { MailroomClient, Workflow, Workflows } from '@mailroom/core';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startNestApp } from '../support/nest';
import { until } from '../support/wait';

/** The child: waits for the hotel to confirm or refuse. */
const booking = createMachine({
  id: 'booking',
  initial: 'pending',
  types: {} as { context: { hotel: string }; input: { hotel: string } },
  context: ({ input }) => ({ hotel: input.hotel }),
  states: {
    pending: { on: { CONFIRM: 'confirmed', REFUSE: 'refused' } },
    confirmed: { type: 'final' },
    refused: { type: 'final' },
  },
  output: ({ context }) => ({ hotel: context.hotel, confirmed: true }),
});

/** The parent invokes a booking per trip; `booking` names the child workflow (options.children). */
const trip = setup({
  types: { context: {} as { booked: unknown } },
  actors: { booking: fromPromise<unknown, { hotel: string }>(async () => undefined) },
}).createMachine({
  id: 'trip',
  initial: 'booking',
  context: { booked: null },
  states: {
    booking: {
      invoke: {
        id: 'hotel',
        src: 'booking',
        input: () => ({ hotel: 'Grand' }),
        onDone: { target: 'booked', actions: assign({ booked: ({ event }) => event.output }) },
      },
      on: { CANCEL: 'cancelled' },
    },
    booked: { type: 'final' },
    cancelled: {},
  },
});

@Workflow(booking)
@Injectable()
class BookingWorkflow {}

@Workflow(trip, { children: { booking: 'booking' } })
@Injectable()
class TripWorkflow {}

let db: TestDatabase;
let app: INestApplicationContext;
let workflows: Workflows;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startNestApp(db.url, [BookingWorkflow, TripWorkflow]);
  workflows = app.get(Workflows);
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

const exists = (ref: string, key: string) =>
  workflows.get(ref, key).then(
    () => true,
    () => false,
  );

describe('child workflows', () => {
  it('starts a child for an invoke and receives its final output as the done event', async () => {
    await workflows.start(TripWorkflow, 't-1');
    await until(() => exists('booking', 'trip/t-1/hotel'));
    expect((await workflows.get(TripWorkflow, 't-1')).waits).toEqual([{ id: 'hotel', kind: 'child', dueAt: null }]);
    await workflows.send(BookingWorkflow, 'trip/t-1/hotel', { type: 'CONFIRM' });
    await until(async () => (await workflows.get(TripWorkflow, 't-1')).status === 'done');
    expect((await workflows.get(TripWorkflow, 't-1')).snapshot).toMatchObject({
      value: 'booked',
      context: { booked: { hotel: 'Grand', confirmed: true } },
    });
  });

  it('cancels the child when the parent leaves the invoking state; the child then ignores events', async () => {
    await workflows.start(TripWorkflow, 't-2');
    await until(() => exists('booking', 'trip/t-2/hotel'));
    await workflows.send(TripWorkflow, 't-2', { type: 'CANCEL' });
    const child = await workflows.get(BookingWorkflow, 'trip/t-2/hotel');
    expect(child).toMatchObject({ status: 'cancelled', waits: [] });
    expect(child.history[0]).toMatchObject({ outcome: 'cancelled', detail: 'the parent left the invoking state' });
    expect(await workflows.send(BookingWorkflow, 'trip/t-2/hotel', { type: 'CONFIRM' })).toMatchObject({
      outcome: 'ignored',
      status: 'cancelled',
    });
    expect((await workflows.get(TripWorkflow, 't-2')).state).toBe('cancelled');
  });

  it('never starts a child whose start arrives after the parent stopped awaiting it', async () => {
    // A start that was already claimed when the parent left the state (so not deleted with its wait).
    const client = app.get(MailroomClient);
    const parent = { workflow: 'trip', key: 't-3', invocation: 'hotel', wait: randomUUID() };
    await client.send('workflow.booking', { key: 'trip/t-3/hotel', kind: 'start', input: {}, parent });
    await until(async () => {
      const { stats } = await client.getQueue('workflow.booking');
      return stats.available + stats.inFlight + stats.delayed === 0;
    });
    expect(await exists('booking', 'trip/t-3/hotel')).toBe(false);
  });
});
