import { describe, expect, it } from 'vitest';
import { ApiProblemError, ApiUnreachableError } from '../../cli/api.js';
import { coloursFor } from '../../cli/colour.js';
import { defaultIdempotencyKey, defaultRetryKey, IDEMPOTENCY_KEY } from '../../cli/idempotency.js';
import { parseRecipients } from '../../cli/recipients.js';
import {
  errorLines,
  fieldProblemLine,
  progressBar,
  progressLine,
  progressOf,
} from '../../cli/render.js';
import type { PayoutView } from '../../cli/views.js';

const BTC1 = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';
const BTC2 = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';

function csvOf(count: number, blankAfter?: number): string {
  const lines = ['address,amount,externalId'];
  for (let i = 0; i < count; i++) {
    lines.push(`${i % 2 ? BTC2 : BTC1},0.${i + 1},id-${i}`);
    if (blankAfter === i) lines.push('');
  }
  return `${lines.join('\r\n')}\r\n`;
}

describe('fieldProblemLine', () => {
  it('maps $.recipients[12].amount to line 14 of a file with a header', () => {
    const file = parseRecipients(csvOf(20), 'recipients.csv');
    expect(
      fieldProblemLine(
        {
          path: '$.recipients[12].amount',
          message: 'has 9 decimals; this currency allows at most 8',
        },
        file,
      ),
    ).toBe(
      'recipients.csv:14: amount "0.13" has 9 decimals; this currency allows at most 8 ($.recipients[12].amount)',
    );
  });

  it('follows blank lines, and rewrites references to other recipients', () => {
    const file = parseRecipients(csvOf(20, 3), 'r.csv');
    expect(
      fieldProblemLine(
        {
          path: '$.recipients[12].externalId',
          message: 'duplicates the externalId of $.recipients[2]',
        },
        file,
      ),
    ).toBe(
      'r.csv:15: externalId "id-12" duplicates the externalId of the recipient on line 4 ($.recipients[12].externalId)',
    );
    expect(fieldProblemLine({ path: '$.recipients[1]', message: 'is not valid' }, file)).toBe(
      'r.csv:3: is not valid ($.recipients[1])',
    );
  });

  it('leaves other paths as path: message', () => {
    const file = parseRecipients(csvOf(2), 'r.csv');
    expect(
      fieldProblemLine({ path: '$.currency', message: 'is not a supported currency' }, file),
    ).toBe('$.currency: is not a supported currency');
    expect(
      fieldProblemLine(
        { path: '$.recipients', message: 'has 2 recipients; at most 1 are allowed' },
        file,
      ),
    ).toBe('r.csv: recipients has 2 recipients; at most 1 are allowed');
    expect(fieldProblemLine({ path: '$.recipients[99].amount', message: 'x' }, file)).toBe(
      '$.recipients[99].amount: x',
    );
    expect(fieldProblemLine({ path: '$.name', message: 'must not be empty' })).toBe(
      '$.name: must not be empty',
    );
  });
});

describe('errorLines', () => {
  it('renders problem+json: status and title, detail, each field, the correlation id', () => {
    const err = new ApiProblemError(
      {
        type: 'https://errors.payouts.internal/validation',
        title: 'The request has invalid fields',
        status: 422,
        detail: '2 fields failed validation',
        errors: [
          { path: '$.currency', message: 'is not a supported currency' },
          { path: '$.recipients[0].address', message: 'is not a valid bitcoin address' },
        ],
        correlationId: 'corr-1',
      },
      'corr-1',
      'POST',
      'http://127.0.0.1:3000/payouts',
    );
    const file = parseRecipients(csvOf(1), 'r.csv');
    expect(errorLines(err, file)).toEqual([
      '422 The request has invalid fields',
      '  2 fields failed validation',
      '  $.currency: is not a supported currency',
      `  r.csv:2: address "${BTC1}" is not a valid bitcoin address ($.recipients[0].address)`,
      '  POST http://127.0.0.1:3000/payouts',
      '  correlation id: corr-1',
    ]);
  });

  it('says which URL could not be reached', () => {
    const lines = errorLines(
      new ApiUnreachableError('http://127.0.0.1:3000/balances', 'connection refused', 'c-2'),
    );
    expect(lines[0]).toBe(
      'could not reach the payouts API at http://127.0.0.1:3000/balances: connection refused',
    );
    expect(lines[1]).toContain('npm start');
    expect(lines[2]).toBe('  correlation id: c-2');
  });
});

function payout(
  counts: Record<string, number>,
  state: PayoutView['state'] = 'IN_PROGRESS',
  recipientCount = 10,
): PayoutView {
  return {
    id: 'p-1',
    owner: 'local:local',
    createdBy: { principal: 'local:local', session: null },
    state,
    currency: 'BTC',
    name: 'n',
    comment: null,
    executionDate: null,
    recipientCount,
    total: '1',
    totalFee: null,
    withdrawalCounts: counts,
    batches: [],
    awaitingCalypsoConfirmation: false,
    stuck: false,
    approval: null,
    cancellation: null,
    submissionPaused: null,
    retryOf: null,
    retriedBy: [],
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: '2030-01-01T00:00:00.000Z',
  };
}

describe('progress', () => {
  it('shares the bar out by state and fills it exactly when everything is final', () => {
    expect(
      progressBar(progressOf(payout({ COMPLETED: 5, FAILED: 1, IN_PROGRESS: 2, PENDING: 2 })), 10),
    ).toBe('[#####x>>..]');
    expect(
      progressBar(
        progressOf(payout({ COMPLETED: 2, FAILED: 1 }, 'COMPLETED_WITH_FAILURES', 3)),
        10,
      ),
    ).toBe('[#######xxx]');
    expect(progressBar(progressOf(payout({}, 'ACCEPTED', 0)), 4)).toBe('[....]');
    // Recipients not yet counted by any batch are shown as waiting.
    expect(progressOf(payout({ COMPLETED: 1 }, 'IN_PROGRESS', 4))).toMatchObject({
      total: 4,
      succeeded: 1,
      waiting: 3,
    });
  });

  it('writes one line with the share done, counts and state, within the width', () => {
    const line = progressLine(payout({ COMPLETED: 5, FAILED: 1, IN_PROGRESS: 2, PENDING: 2 }), 120);
    expect(line).toMatch(
      /^\[#+x+>+\.+\] {2}60% {2}6\/10 final · COMPLETED 5 · FAILED 1 · IN_PROGRESS 2 · PENDING 2 · IN_PROGRESS$/,
    );
    expect(progressLine(payout({ COMPLETED: 5 }), 30).length).toBeLessThanOrEqual(30);
    // A terminal that reports no width still gets a readable bar.
    expect(progressLine(payout({ COMPLETED: 5 }), -1)).toMatch(/^\[#{5}\.{5}\]/);
  });

  it('holds still as the numbers grow: same bar width, share and count in the same place', () => {
    const lines = [0, 7, 42, 500, 999, 1000].map((done) =>
      progressLine(payout({ COMPLETED: done, IN_PROGRESS: 1000 - done }, 'IN_PROGRESS', 1000), 100),
    );
    const at = (line: string, mark: string) => line.indexOf(mark);
    for (const line of lines) {
      expect(at(line, ']')).toBe(at(lines[0]!, ']'));
      expect(at(line, '%')).toBe(at(lines[0]!, '%'));
      expect(at(line, '/1000')).toBe(at(lines[0]!, '/1000'));
    }
    expect(lines[1]).toContain('   0%    7/1000 final');
    expect(lines[5]).toContain(' 100% 1000/1000 final');
    // The counts by state never push the bar narrower, however long they get.
    const crowded = progressLine(
      payout(
        { COMPLETED: 1, FAILED: 1, CANCELED: 1, REPLACED: 1, IN_PROGRESS: 1, PENDING: 995 },
        'IN_PROGRESS',
        1000,
      ),
      100,
    );
    expect(at(crowded, ']')).toBe(at(lines[0]!, ']'));
    expect(crowded.length).toBeLessThanOrEqual(100);
  });

  it('is coloured only with colours, and reads the same without them', () => {
    const view = payout({ COMPLETED: 5, FAILED: 1, IN_PROGRESS: 2, PENDING: 2 });
    const plain = progressLine(view, 120);
    const coloured = progressLine(view, 120, coloursFor({ write: () => true, isTTY: true }, {}));
    expect(plain).not.toContain('\x1b');
    expect(coloured).toContain('\x1b[32m#');
    expect(coloured).toContain('\x1b[31mx');
    const escape = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
    expect(coloured.replace(escape, '')).toBe(plain);
  });
});

describe('coloursFor', () => {
  const tty = { write: () => true, isTTY: true };
  it('colours a terminal only, and never with NO_COLOR or TERM=dumb', () => {
    expect(coloursFor(tty, {}).enabled).toBe(true);
    expect(coloursFor(tty, { NO_COLOR: '' }).enabled).toBe(true);
    expect(coloursFor(tty, { NO_COLOR: '1' }).enabled).toBe(false);
    expect(coloursFor(tty, { TERM: 'dumb' }).enabled).toBe(false);
    expect(coloursFor({ write: () => true }, {}).enabled).toBe(false);
    expect(coloursFor({ write: () => true, isTTY: false }, {}).red('x')).toBe('x');
  });
});

describe('default idempotency keys', () => {
  const body = {
    currency: 'BTC',
    name: 'March',
    recipients: [
      { address: BTC1, amount: '1.50', externalId: 'a' },
      { address: BTC2, amount: '2' },
    ],
  };

  it('are the same for the same request, and valid Idempotency-Keys', () => {
    const key = defaultIdempotencyKey(body);
    expect(key).toMatch(/^cli-[0-9a-f]{64}$/);
    expect(IDEMPOTENCY_KEY.test(key)).toBe(true);
    expect(defaultIdempotencyKey(structuredClone(body))).toBe(key);
    // The same recipients from a CSV (CRLF, BOM) and from JSON give the same key.
    const csv = parseRecipients(
      `\uFEFFaddress,amount,externalId\r\n${BTC1},1.50,a\r\n${BTC2},2,\r\n`,
      'r.csv',
    );
    const json = parseRecipients(JSON.stringify(body.recipients), 'r.json');
    expect(defaultIdempotencyKey({ ...body, recipients: csv.recipients })).toBe(key);
    expect(defaultIdempotencyKey({ ...body, recipients: json.recipients })).toBe(key);
  });

  it('compare amounts and execution dates by value, as the API does', () => {
    const key = defaultIdempotencyKey({ ...body, executionDate: '2030-01-01T10:00:00Z' });
    expect(
      defaultIdempotencyKey({
        ...body,
        executionDate: '2030-01-01T11:00:00+01:00',
        recipients: [{ ...body.recipients[0]!, amount: '1.5' }, body.recipients[1]!],
      }),
    ).toBe(key);
  });

  it('change with the currency, name, comment, execution date, order and every recipient field', () => {
    const key = defaultIdempotencyKey(body);
    const variants = [
      { ...body, currency: 'ETH' },
      { ...body, name: 'April' },
      { ...body, comment: 'x' },
      { ...body, executionDate: '2030-01-01T10:00:00Z' },
      { ...body, recipients: [...body.recipients].reverse() },
      { ...body, recipients: [{ ...body.recipients[0]!, amount: '1.51' }, body.recipients[1]!] },
      { ...body, recipients: [{ ...body.recipients[0]!, externalId: 'b' }, body.recipients[1]!] },
      { ...body, recipients: [{ ...body.recipients[0]!, address: BTC2 }, body.recipients[1]!] },
      { ...body, recipients: [body.recipients[0]!] },
    ];
    const keys = new Set(variants.map(defaultIdempotencyKey));
    expect(keys.size).toBe(variants.length);
    expect(keys.has(key)).toBe(false);
  });

  it('for a retry, follow the payout id', () => {
    const id = '0b7f3c1e-8d3a-4e52-9c1b-2f0d6a7e9b10';
    expect(defaultRetryKey(id)).toBe(`retry-failed-${id}`);
    expect(IDEMPOTENCY_KEY.test(defaultRetryKey(id))).toBe(true);
  });
});
