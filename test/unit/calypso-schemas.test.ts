import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonLossless } from '../../shared/calypso/json.js';
import { Decimal } from '../../shared/domain/money.js';
import {
  accountSchema,
  decimalFromJsonNumberText,
  errorBodySchema,
  massPayoutSchema,
  withdrawalPageSchema,
  withdrawalSchema,
} from '../../shared/calypso/schemas.js';

const read = (text: string) => parseJsonLossless(text);

describe('decimalFromJsonNumberText', () => {
  it.each([
    ['10.50', '10.50'],
    ['0.000000000000000001', '0.000000000000000001'],
    ['1E-18', '0.000000000000000001'],
    ['1.5e3', '1500'],
    ['2.50E+1', '25.0'],
    ['-3e-2', '-0.03'],
    ['123456789012345678901234567890', '123456789012345678901234567890'],
  ])('reads %s exactly as %s', (text, expected) => {
    expect(decimalFromJsonNumberText(text)?.toString()).toBe(expected);
  });

  it.each([
    '',
    'abc',
    '1.',
    '.5',
    '01',
    '+1',
    '1e1000',
    '1e-1000',
    '1e99999999999999999999',
    `1${'0'.repeat(1000)}`,
    '0x10',
    ' 1',
    'NaN',
  ])('refuses %j', (text) => {
    expect(decimalFromJsonNumberText(text)).toBeUndefined();
  });

  it('reads what no caller may send: 30-decimal fees, huge balances, long exponents', () => {
    const fee = `0.${'0'.repeat(29)}1`;
    expect(decimalFromJsonNumberText(fee)?.toString()).toBe(fee);
    const huge = `${'9'.repeat(200)}.${'1'.repeat(40)}`;
    expect(decimalFromJsonNumberText(huge)?.toString()).toBe(huge);
    expect(decimalFromJsonNumberText('1E-100')?.scale).toBe(100);
    expect(decimalFromJsonNumberText('1e999')?.toString()).toBe(`1${'0'.repeat(999)}`);
  });

  it('gives only values whose text Decimal.parse reads back, so stored values never fail a read', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^-?(0|[1-9][0-9]{0,300})(\.[0-9]{1,300})?([eE][-+]?[0-9]{1,4})?$/),
        (text) => {
          const value = decimalFromJsonNumberText(text);
          if (value === undefined) return;
          expect(Decimal.parse(value.toString()).equals(value)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('massPayoutSchema', () => {
  it('reads the documented create answer, fees exact, id as a string', () => {
    const parsed = massPayoutSchema.parse(
      read(
        '{"id":12345,"idempotencyKey":"k-1","companyId":77,"state":"CREATION_IN_PROGRESS","comment":"c","name":"n","currency":"ETH","totalCalypsoFee":0.000000000000000001,"totalCalypsoFeePercentage":0.5}',
      ),
    );
    expect(parsed).toMatchObject({
      id: '12345',
      idempotencyKey: 'k-1',
      companyId: '77',
      state: 'CREATION_IN_PROGRESS',
      currency: 'ETH',
    });
    expect(parsed.totalCalypsoFee?.toString()).toBe('0.000000000000000001');
    expect(parsed.totalCalypsoFeePercentage?.toString()).toBe('0.5');
  });

  it('ignores unknown fields, keeps unknown states, tolerates missing and null fields', () => {
    const parsed = massPayoutSchema.parse(
      read('{"id":"a-b","state":"SOMETHING_NEW","extra":{"x":1},"totalCalypsoFee":null}'),
    );
    expect(parsed.id).toBe('a-b');
    expect(parsed.state).toBe('SOMETHING_NEW');
    expect(parsed.totalCalypsoFee).toBeUndefined();
    expect(parsed).not.toHaveProperty('extra');
  });

  it('accepts an amount sent as a JSON string', () => {
    expect(
      massPayoutSchema
        .parse(read('{"id":1,"state":"COMPLETED","totalCalypsoFee":"1.25"}'))
        .totalCalypsoFee?.toString(),
    ).toBe('1.25');
  });

  it('reads a fee finer than any currency, and its stored text reads back', () => {
    const fee = massPayoutSchema.parse(
      read(
        `{"id":1,"state":"COMPLETED","totalCalypsoFee":1E-100,"totalCalypsoFeePercentage":0.${'3'.repeat(60)}}`,
      ),
    ).totalCalypsoFee!;
    expect(fee.scale).toBe(100);
    expect(Decimal.parse(fee.toString()).equals(fee)).toBe(true);
  });

  it('refuses an answer without id or state, or with a fee that is not a number', () => {
    expect(massPayoutSchema.safeParse(read('{"state":"COMPLETED"}')).success).toBe(false);
    expect(massPayoutSchema.safeParse(read('{"id":1}')).success).toBe(false);
    expect(
      massPayoutSchema.safeParse(read('{"id":1,"state":"X","totalCalypsoFee":"lots"}')).success,
    ).toBe(false);
  });

  it('refuses a float amount given as a JS number (no float ever becomes money)', () => {
    expect(
      massPayoutSchema.safeParse({ id: '1', state: 'COMPLETED', totalCalypsoFee: 0.1 }).success,
    ).toBe(false);
  });
});

describe('withdrawalSchema', () => {
  it('reads every documented field and an externalId', () => {
    const parsed = withdrawalSchema.parse(
      read(`{"id":9,"account":"0xacc","companyName":"Co","amount":123456789.123456789012345678,
        "currency":"USDT","state":"COMPLETED","calypsoFee":0.000000000000000001,
        "transactionHash":"0xhash","depositAddress":"0xdest","createdDate":"2024-05-01T10:00:00.123456",
        "externalId":"ext-1","withdrawalErrors":[{"id":3,"status":"NOT_ENOUGH_FUNDS","errorResolved":true,"errorMessage":"top up"}]}`),
    );
    expect(parsed).toMatchObject({
      id: '9',
      account: '0xacc',
      companyName: 'Co',
      currency: 'USDT',
      state: 'COMPLETED',
      transactionHash: '0xhash',
      depositAddress: '0xdest',
      createdDate: '2024-05-01T10:00:00.123456',
      externalId: 'ext-1',
      withdrawalErrors: [
        { id: '3', status: 'NOT_ENOUGH_FUNDS', errorResolved: true, errorMessage: 'top up' },
      ],
    });
    expect(parsed.amount.toString()).toBe('123456789.123456789012345678');
    expect(parsed.calypsoFee?.toString()).toBe('0.000000000000000001');
  });

  it('defaults withdrawalErrors to [] and errorResolved to false', () => {
    expect(
      withdrawalSchema.parse(read('{"id":1,"state":"DRAFT","amount":1}')).withdrawalErrors,
    ).toEqual([]);
    expect(
      withdrawalSchema.parse(read('{"id":1,"state":"DRAFT","amount":1,"withdrawalErrors":null}'))
        .withdrawalErrors,
    ).toEqual([]);
    expect(
      withdrawalSchema.parse(
        read(
          '{"id":1,"state":"DRAFT","amount":1,"withdrawalErrors":[{"status":"EXCEEDING_LIMIT"}]}',
        ),
      ).withdrawalErrors,
    ).toEqual([{ status: 'EXCEEDING_LIMIT', errorResolved: false }]);
  });

  it('drops a descriptive field of an unexpected type instead of failing', () => {
    const parsed = withdrawalSchema.parse(
      read('{"id":1,"state":"IN_PROGRESS","amount":1,"createdDate":[2024,5,1],"companyName":{}}'),
    );
    expect(parsed.createdDate).toBeUndefined();
    expect(parsed.companyName).toBeUndefined();
  });

  it('requires an amount', () => {
    expect(withdrawalSchema.safeParse(read('{"id":1,"state":"DRAFT"}')).success).toBe(false);
  });
});

describe('withdrawalPageSchema', () => {
  it('reads the paging fields as numbers', () => {
    expect(
      withdrawalPageSchema.parse(
        read('{"result":[],"page":2,"size":50,"total":3,"totalElements":120}'),
      ),
    ).toMatchObject({ result: [], page: 2, size: 50, total: 3, totalElements: 120 });
  });

  it('reads a bare array as one page', () => {
    const page = withdrawalPageSchema.parse(read('[{"id":1,"state":"DRAFT","amount":1}]'));
    expect(page.result.map((w) => w.id)).toEqual(['1']);
  });

  it('refuses an answer without result', () => {
    expect(withdrawalPageSchema.safeParse(read('{"page":0}')).success).toBe(false);
  });
});

describe('accountSchema', () => {
  it('reads balances as exact decimals', () => {
    const account = accountSchema.parse(
      read(
        '{"account":"0xacc","name":"Main","ownerId":5,"balances":[{"currency":"ETH","amount":1.000000000000000001},{"currency":"BTC","amount":0}]}',
      ),
    );
    expect(account).toMatchObject({ account: '0xacc', name: 'Main', ownerId: '5' });
    expect(account.balances.map((b) => [b.currency, b.amount.toString()])).toEqual([
      ['ETH', '1.000000000000000001'],
      ['BTC', '0'],
    ]);
  });

  it('reads a balance longer than any amount a caller may send', () => {
    const huge = `1${'0'.repeat(150)}.${'0'.repeat(29)}1`;
    const account = accountSchema.parse(
      read(
        `{"balances":[{"currency":"USDT","amount":${huge}},{"currency":"BTC","amount":"${huge}"}]}`,
      ),
    );
    expect(account.balances.map((b) => b.amount.toString())).toEqual([huge, huge]);
  });

  it('defaults balances to []', () => {
    expect(accountSchema.parse(read('{"account":"x"}')).balances).toEqual([]);
  });
});

describe('errorBodySchema', () => {
  it('reads code, message and trace id; a numeric code is padded as documented', () => {
    expect(errorBodySchema.parse(read('{"errorCode":"016","message":"m","traceId":"t"}'))).toEqual({
      errorCode: '016',
      message: 'm',
      traceId: 't',
    });
    expect(errorBodySchema.parse(read('{"errorCode":4}')).errorCode).toBe('004');
  });
});
