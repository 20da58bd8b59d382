import { describe, expect, it } from 'vitest';
import { PrefetchWindow } from './prefetch.window';

describe('prefetch window', () => {
  it('doubles while handlers wait for full claims, never past its ceiling', () => {
    const window = new PrefetchWindow(10, 200);
    const sizes: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      window.claimed(window.size, window.size, true, false);
      sizes.push(window.size);
    }
    expect(sizes).toEqual([20, 40, 80, 160, 200, 200, 200, 200]);
  });

  it('returns to its floor when a claim finds fewer messages than it asked for', () => {
    const window = new PrefetchWindow(10, 200);
    for (let i = 0; i < 5; i += 1) window.claimed(window.size, window.size, true, false);
    window.claimed(100, 37, true, false);
    expect(window.size).toBe(10);
  });

  it('halves when messages still wait for a slot, never below its floor', () => {
    const window = new PrefetchWindow(10, 200);
    for (let i = 0; i < 5; i += 1) window.claimed(window.size, window.size, true, false);
    const sizes: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      window.claimed(50, 50, false, true);
      sizes.push(window.size);
    }
    expect(sizes).toEqual([100, 50, 25, 12, 10, 10]);
  });

  it('stays put when every slot is busy and nothing waits (slow handlers do not grow it)', () => {
    const window = new PrefetchWindow(4, 200);
    for (let i = 0; i < 5; i += 1) window.claimed(1, 1, false, false);
    expect(window.size).toBe(4);
  });

  it('is fixed when floor and ceiling are equal (an explicit prefetch)', () => {
    const window = new PrefetchWindow(30, 30);
    window.claimed(30, 30, true, false);
    window.claimed(30, 30, false, true);
    window.claimed(30, 1, true, false);
    expect(window.size).toBe(30);
  });
});
