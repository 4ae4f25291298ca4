/** The CSV export neutralises cells a spreadsheet would run as formulas, and leaves amounts alone. */
import { describe, expect, it } from 'vitest';
import { csvField, csvLine, readCsv, spreadsheetSafe, unSpreadsheetSafe } from '../../cli/csv.js';

describe('spreadsheetSafe', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1:A9)', "'@SUM(A1:A9)"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    // Its own quote before a formula: one more, so that reading it back is exact.
    ["'=x", "''=x"],
    ["''-1", "'''-1"],
  ])('prefixes %j with a single quote', (text, safe) => {
    expect(spreadsheetSafe(text)).toBe(safe);
  });

  it.each(['inv-1', 'a=b', '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', "'x", ' =x', '', '\nx'])(
    'leaves %j alone',
    (text) => {
      expect(spreadsheetSafe(text)).toBe(text);
    },
  );
});

describe('unSpreadsheetSafe', () => {
  it.each([
    '=1+2',
    '+1',
    '-inv-7',
    '@SUM(A1:A9)',
    '\tx',
    '\rx',
    "'=x",
    "''-1",
    'inv-1',
    "'x",
    "'",
    '',
  ])('gives back %j from what spreadsheetSafe wrote', (value) => {
    expect(unSpreadsheetSafe(spreadsheetSafe(value))).toBe(value);
  });

  it.each(["'x", "'", "' =x", 'inv-1', "a'=b"])(
    'leaves %j, which the export never wrote, alone',
    (cell) => {
      expect(unSpreadsheetSafe(cell)).toBe(cell);
    },
  );

  it('takes off one quote only', () => {
    expect(unSpreadsheetSafe("''=x")).toBe("'=x");
    expect(unSpreadsheetSafe("'-1")).toBe('-1');
  });
});

describe('csvLine', () => {
  it('neutralises a formula in any text cell and still quotes what needs quoting', () => {
    const line = csvLine([
      7,
      '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa',
      '10.50',
      '=HYPERLINK("http://x.test","click")',
      'COMPLETED',
      '@tx',
      '0.000000000000000001',
    ]);
    expect(line).toBe(
      `7,1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,10.50,"'=HYPERLINK(""http://x.test"",""click"")",COMPLETED,'@tx,0.000000000000000001\n`,
    );
    expect(readCsv(line).records[0]?.fields[3]).toBe(`'=HYPERLINK("http://x.test","click")`);
  });

  it('quotes a neutralised cell that starts with a carriage return', () => {
    expect(csvField('\r=cmd')).toBe(`"'\r=cmd"`);
  });

  it('writes amounts, fees and numbers unchanged', () => {
    for (const amount of ['0.1', '10000', '123456789.123456789012345678', '0.00000001']) {
      expect(csvField(amount)).toBe(amount);
    }
    expect(csvField(0)).toBe('0');
    expect(csvField(12)).toBe('12');
  });
});
