import type { AnyStateMachine, StateValue } from 'xstate';

/** A machine's states and transitions as plain JSON: stored, so the broker can draw it without the app's code. */
export interface StateTree {
  id: string;
  key: string;
  type: string;
  initial?: string;
  states: StateTree[];
  transitions: { event: string; targets: string[] }[];
}

interface NodeLike {
  id: string;
  key: string;
  type: string;
  states: Record<string, NodeLike>;
  initial?: { target: NodeLike[] };
  transitions: Map<string, { target?: NodeLike[] }[]>;
}

export function describeMachine(machine: AnyStateMachine): StateTree {
  return describe(machine.root as unknown as NodeLike);
}

function describe(node: NodeLike): StateTree {
  const transitions: StateTree['transitions'] = [];
  for (const [event, list] of node.transitions) {
    for (const t of list) transitions.push({ event, targets: (t.target ?? []).map((target) => target.id) });
  }
  return {
    id: node.id,
    key: node.key,
    type: node.type,
    initial: node.initial?.target[0]?.key,
    states: Object.values(node.states).map(describe),
    transitions,
  };
}

/** The state node ids a state value is in: each leaf and its ancestors. */
export function activeIds(root: StateTree, value: StateValue): Set<string> {
  const active = new Set<string>([root.id]);
  const walk = (node: StateTree, v: StateValue) => {
    const entries = typeof v === 'string' ? [[v, null] as const] : Object.entries(v);
    for (const [key, inner] of entries) {
      const child = node.states.find((s) => s.key === key);
      if (!child) continue;
      active.add(child.id);
      if (inner) walk(child, inner as StateValue);
    }
  };
  walk(root, value);
  return active;
}

/**
 * Mermaid `stateDiagram-v2` text of the machine, the instance's active states in the
 * `active` class: paste it into any Mermaid renderer (GitHub, the docs) to see where
 * the instance is.
 */
export function mermaid(root: StateTree, value?: StateValue): string {
  const lines = ['stateDiagram-v2'];
  const ref = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');
  const draw = (node: StateTree, indent: string) => {
    if (node.initial) lines.push(`${indent}[*] --> ${ref(`${node.id}.${node.initial}`)}`);
    node.states.forEach((child, i) => {
      if (node.type === 'parallel' && i > 0) lines.push(`${indent}--`);
      lines.push(`${indent}state "${child.key}" as ${ref(child.id)}`);
      if (child.states.length > 0) {
        lines.push(`${indent}state ${ref(child.id)} {`);
        draw(child, `${indent}  `);
        lines.push(`${indent}}`);
      }
      if (child.type === 'final') lines.push(`${indent}${ref(child.id)} --> [*]`);
    });
  };
  draw(root, '  ');
  const edges = (node: StateTree) => {
    for (const t of node.transitions) {
      for (const target of t.targets) lines.push(`  ${ref(node.id)} --> ${ref(target)}: ${label(t.event)}`);
    }
    node.states.forEach(edges);
  };
  root.states.forEach(edges);
  if (value !== undefined) {
    const active = [...activeIds(root, value)].filter((id) => id !== root.id);
    lines.push('  classDef active fill:#ffd54f,stroke:#e65100,stroke-width:3px');
    if (active.length > 0) lines.push(`  class ${active.map(ref).join(',')} active`);
  }
  return lines.join('\n') + '\n';
}

/** XState's internal event names, shortened for a reader: `after 500ms`, `done: reserve`. */
function label(event: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  if (after) return `after ${after[1]}`;
  const done = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event);
  if (done) return `${done[1]}: ${done[2]}`;
  return event.replace(/:/g, ' ');
}
