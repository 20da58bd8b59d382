import {
  activeIds,
  type StateTree,
  type WorkflowInfo,
  type WorkflowInstanceDetail,
  type WorkflowInstanceInfo,
} from '@mailroom/core';
import { html, seg, type Html } from './html';

const state = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

export function workflowsView(workflows: { info: WorkflowInfo; instances: WorkflowInstanceInfo[] }[]): Html {
  if (workflows.length === 0) return html`<p class="muted">No workflows registered.</p>`;
  return html`${workflows.map(
    ({ info, instances }) =>
      html`<h2>${info.name}</h2>
        ${
          instances.length === 0
            ? html`<p class="muted">No instances.</p>`
            : html`<table>
                <thead>
                  <tr>
                    <th>Key</th>
                    <th>Status</th>
                    <th>State</th>
                    <th>Updated</th>
                  </tr>
                </thead>
                <tbody>
                  ${instances.map(
                    (i) =>
                      html`<tr>
                        <td><a href="/dashboard/workflows/${seg(info.name)}/${seg(i.key)}">${i.key}</a></td>
                        <td>${i.status}</td>
                        <td>${state(i.state)}</td>
                        <td>${new Date(i.updatedAt).toISOString()}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
        }`,
  )}`;
}

/**
 * The machine as a nested list of its states, each with its transitions; the instance's
 * active states highlighted. Readable without any renderer (Mermaid needs a script).
 */
export function instanceView(instance: WorkflowInstanceDetail, machine: StateTree): Html {
  const active = activeIds(machine, instance.state);
  return html`<p>
      Status <strong>${instance.status}</strong> · state <strong>${state(instance.state)}</strong> · version
      ${instance.version}${instance.failure ? html` · failure <strong>${instance.failure}</strong>` : ''}
    </p>
    <h2>Machine</h2>
    <div class="machine">${tree(machine, active)}</div>
    <h2>History</h2>
    <table>
      <thead>
        <tr>
          <th>At</th>
          <th>Event</th>
          <th>Outcome</th>
          <th>State</th>
          <th>Detail</th>
        </tr>
      </thead>
      <tbody>
        ${instance.history.map(
          (h) =>
            html`<tr>
              <td>${new Date(h.at).toISOString()}</td>
              <td>${h.event.type}</td>
              <td>${h.outcome}</td>
              <td>${state(h.state)}</td>
              <td>${h.detail ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

function tree(node: StateTree, active: Set<string>): Html {
  const name = node.key + (node.type === 'final' ? ' (final)' : node.type === 'parallel' ? ' (parallel)' : '');
  const on = node.transitions.map(
    (t) =>
      html`<div class="muted">
        on ${t.event || '(always)'} → ${t.targets.map((id) => id.split('.').at(-1)).join(', ')}
      </div>`,
  );
  return html`<ul class="tree">
    <li>
      <span class="state${active.has(node.id) ? ' active' : ''}" data-state="${node.id}">${name}</span
      >${node.initial ? html` <span class="muted">initial: ${node.initial}</span>` : ''}${on}${node.states.map((s) => tree(s, active))}
    </li>
  </ul>`;
}
