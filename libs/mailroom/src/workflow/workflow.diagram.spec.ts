import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { activeIds, describeMachine, mermaid } from './workflow.diagram';

const machine = createMachine({
  id: 'm',
  initial: 'idle',
  states: {
    idle: { on: { GO: 'busy' }, after: { 500: 'late' } },
    busy: {
      type: 'parallel',
      states: {
        left: { initial: 'a', states: { a: { on: { NEXT: 'b' } }, b: {} } },
        right: { initial: 'x', states: { x: {} } },
      },
      on: { DONE: 'finished' },
    },
    late: {},
    finished: { type: 'final' },
  },
});

describe('workflow diagram', () => {
  it('draws nested and parallel states, readable event labels and a final state', () => {
    const text = mermaid(describeMachine(machine));
    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        'stateDiagram-v2',
        '  [*] --> m_idle',
        '  state m_busy {',
        '    --',
        '  m_idle --> m_busy: GO',
        '  m_idle --> m_late: after 500',
        '  m_busy_left_a --> m_busy_left_b: NEXT',
        '  m_finished --> [*]',
      ]),
    );
    expect(text).not.toContain('classDef');
  });

  it('highlights every active state of a parallel value, ancestors included', () => {
    const tree = describeMachine(machine);
    const value = { busy: { left: 'b', right: 'x' } };
    expect([...activeIds(tree, value)].sort()).toEqual([
      'm',
      'm.busy',
      'm.busy.left',
      'm.busy.left.b',
      'm.busy.right',
      'm.busy.right.x',
    ]);
    expect(mermaid(tree, value)).toContain(
      '  class m_busy,m_busy_left,m_busy_left_b,m_busy_right,m_busy_right_x active\n',
    );
  });
});
