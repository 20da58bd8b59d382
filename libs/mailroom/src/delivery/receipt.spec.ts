import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeReceipts, encodeReceipt } from './receipt';

/** The definition decodeReceipt implements by hand: a regular expression over the decoded text, then a re-encoding. */
const DECODED = /^(\d{1,19})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,9})$/;
function reference(receipt: string) {
  const match = DECODED.exec(Buffer.from(receipt, 'base64url').toString());
  if (!match || BigInt(match[1]) > 2n ** 63n - 1n) return null;
  const decoded = { seq: match[1], id: match[2], delivery: Number(match[3]) };
  return encodeReceipt(decoded.seq, decoded.id, decoded.delivery) === receipt ? decoded : null;
}

function decodeOne(receipt: string) {
  try {
    return decodeReceipts([receipt])[0];
  } catch {
    return null;
  }
}

const encode = (text: string) => Buffer.from(text).toString('base64url');
const ID = '0b6e3f52-7c1d-4f0a-9a57-2f1e8d3c4b5a';

describe('receipts', () => {
  it('decode to what was encoded', () => {
    expect(decodeOne(encodeReceipt('9223372036854775807', ID, 123_456_789))).toEqual({
      seq: '9223372036854775807',
      id: ID,
      delivery: 123_456_789,
    });
  });

  it.each([
    ['a sequence past bigint', encode(`9223372036854775808.${ID}.1`)],
    ['a 20-digit sequence', encode(`12345678901234567890.${ID}.1`)],
    ['an empty sequence', encode(`.${ID}.1`)],
    ['a signed sequence', encode(`-1.${ID}.1`)],
    ['an uppercase id', encode(`1.${ID.toUpperCase()}.1`)],
    ['a short id', encode(`1.${ID.slice(1)}.1`)],
    ['a 10-digit delivery', encode(`1.${ID}.1234567890`)],
    ['an empty delivery', encode(`1.${ID}.`)],
    ['a trailing part', encode(`1.${ID}.1.2`)],
    ['padding', `${encode(`1.${ID}.1`)}=`],
    ['characters outside base64url', `${encode(`1.${ID}.1`)}!`],
    ['nothing', ''],
  ])('refuse %s', (_, receipt) => {
    expect(decodeOne(receipt)).toBeNull();
  });

  it('accept exactly what the regular expression accepts, on receipts near and far from valid ones', () => {
    const part = fc.oneof(
      fc.stringMatching(/^\d{0,21}$/),
      fc.constantFrom(ID, ID.toUpperCase(), ID.slice(1), `${ID}0`, ''),
      fc.string({ maxLength: 6 }),
    );
    const text = fc.oneof(
      fc.tuple(part, part, part).map(([a, b, c]) => `${a}.${b}.${c}`),
      fc.tuple(part, part).map(([a, b]) => `${a}.${b}`),
      fc.string({ maxLength: 60 }),
    );
    const receipt = fc.oneof(
      text.map(encode),
      fc.tuple(text.map(encode), fc.string({ maxLength: 3 })).map(([r, tail]) => r + tail),
    );
    fc.assert(
      fc.property(receipt, (r) => {
        expect(decodeOne(r)).toEqual(reference(r));
      }),
      { numRuns: 5_000 },
    );
  });
});
