import type { DeadLetter, QueueInfo, TopicInfo } from '@mailroom/core';
import { html, seg, sparkline, type Html } from './html';

type Series = { depth: number[]; sent: number[]; acked: number[] };
export type Row = Record<string, unknown>;

const json = (value: unknown) => JSON.stringify(value, null, 1);
const when = (value: unknown) => (value ? new Date(value as string).toISOString().replace('T', ' ').slice(0, 19) : '');

export function queuesView(queues: QueueInfo[], seriesOf: (queue: string) => Series): Html {
  if (queues.length === 0) return html`<p class="muted">No queues yet.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th>Queue</th>
        <th>State</th>
        <th>Available</th>
        <th>In flight</th>
        <th>Delayed</th>
        <th>Exhausted</th>
        <th>Depth (last minutes)</th>
        <th>Sends / acks per 10 s</th>
      </tr>
    </thead>
    <tbody>
      ${queues.map((q) => {
        const s = seriesOf(q.name);
        return html`<tr>
          <td><a href="/dashboard/queues/${seg(q.name)}">${q.name}</a></td>
          <td>${q.state}</td>
          <td class="n">${q.stats.available}</td>
          <td class="n">${q.stats.inFlight}</td>
          <td class="n">${q.stats.delayed}</td>
          <td class="n">${q.stats.exhausted}</td>
          <td>${sparkline(s.depth, `depth of ${q.name}`)}</td>
          <td>${sparkline(s.sent, `sends to ${q.name}`)} ${sparkline(s.acked, `acks on ${q.name}`)}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

export function queueView(queue: QueueInfo, messages: Row[], deadLetters: DeadLetter[]): Html {
  const path = `/dashboard/queues/${seg(queue.name)}`;
  return html`<p>
      State <strong>${queue.state}</strong> · available <strong>${queue.stats.available}</strong> · in flight
      <strong>${queue.stats.inFlight}</strong> · delayed <strong>${queue.stats.delayed}</strong> · dead letter queue
      <strong>${queue.options.deadLetterQueue ?? 'none'}</strong>
    </p>
    <form class="inline" method="post" action="${path}/purge"><button class="danger">Purge messages…</button></form>
    <h2>Messages <span class="muted">(oldest ${messages.length})</span></h2>
    ${
      messages.length === 0
        ? html`<p class="muted">No messages.</p>`
        : html`<table>
            <thead>
              <tr>
                <th>Seq</th>
                <th>Id</th>
                <th>Status</th>
                <th>Deliveries</th>
                <th>Headers</th>
                <th>Body</th>
                <th>Last error</th>
              </tr>
            </thead>
            <tbody>
              ${messages.map(
                (m) =>
                  html`<tr>
                    <td class="n">${String(m.seq)}</td>
                    <td>${String(m.id)}</td>
                    <td>${m.in_flight ? 'in flight' : 'waiting'}</td>
                    <td class="n">${Number(m.delivery_count)}</td>
                    <td><pre>${json(m.headers)}</pre></td>
                    <td><pre>${json(m.body)}</pre></td>
                    <td><pre>${String(m.last_error ?? '')}</pre></td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h2>Dead letters <span class="muted">(${deadLetters.length})</span></h2>
    ${
      deadLetters.length === 0
        ? html`<p class="muted">No dead letters.</p>`
        : html`<form class="inline" method="post" action="${path}/redrive"><button>Redrive all…</button></form>
            <table>
              <thead>
                <tr>
                  <th>Id</th>
                  <th>Reason</th>
                  <th>Deliveries</th>
                  <th>Error</th>
                  <th>Consumer</th>
                  <th>Failed</th>
                  <th>Body</th>
                </tr>
              </thead>
              <tbody>
                ${deadLetters.map(
                  (d) =>
                    html`<tr>
                      <td>${d.id}</td>
                      <td>${d.reason}</td>
                      <td class="n">${d.deliveryCount}</td>
                      <td>
                        <pre>${d.error ?? ''}</pre>
                        ${
                          d.stack
                            ? html`<details>
                                <summary>stack</summary>
                                <pre>${d.stack}</pre>
                              </details>`
                            : ''
                        }
                      </td>
                      <td>${d.consumer ?? ''}</td>
                      <td>${when(d.lastFailedAt)}</td>
                      <td><pre>${json(d.body)}</pre></td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }`;
}

/** The confirmation step of a destructive action: says what will happen, posts `confirm=yes`. */
export function confirmView(question: string, action: string, back: string): Html {
  return html`<div class="warn">
    <p>${question}</p>
    <form method="post" action="${action}">
      <input type="hidden" name="confirm" value="yes" /><button class="danger">Confirm</button>
      <a href="${back}">Cancel</a>
    </form>
  </div>`;
}

export function topicsView(topics: TopicInfo[]): Html {
  if (topics.length === 0) return html`<p class="muted">No topics yet.</p>`;
  return html`${topics.map(
    (t) =>
      html`<h2>${t.name}</h2>
        ${
          t.subscriptions.length === 0
            ? html`<p class="muted">No subscriptions.</p>`
            : html`<table>
                <thead>
                  <tr>
                    <th>Subscription</th>
                    <th>Queue</th>
                    <th>State</th>
                    <th>Routing key</th>
                    <th>Header filter</th>
                  </tr>
                </thead>
                <tbody>
                  ${t.subscriptions.map(
                    (s) =>
                      html`<tr>
                        <td>${s.name}</td>
                        <td><a href="/dashboard/queues/${seg(s.queue)}">${s.queue}</a></td>
                        <td>${s.state}</td>
                        <td>${s.routingKey ?? html`<span class="muted">any</span>`}</td>
                        <td>
                          ${Object.keys(s.headers).length ? html`<pre>${json(s.headers)}</pre>` : html`<span class="muted">none</span>`}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }`,
  )}`;
}

export function consumersView(leases: Row[]): Html {
  if (leases.length === 0) return html`<p class="muted">No consumer holds a lease.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th>Consumer</th>
        <th>Queue</th>
        <th>Exclusive</th>
        <th>Messages held</th>
        <th>Lease expires</th>
        <th>Since</th>
      </tr>
    </thead>
    <tbody>
      ${leases.map(
        (l) =>
          html`<tr>
            <td>${String(l.consumer)}</td>
            <td><a href="/dashboard/queues/${seg(String(l.queue))}">${String(l.queue)}</a></td>
            <td>${l.exclusive ? 'yes' : 'no'}</td>
            <td class="n">${Number(l.held)}</td>
            <td>${when(l.expires_at)}</td>
            <td>${when(l.created_at)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
