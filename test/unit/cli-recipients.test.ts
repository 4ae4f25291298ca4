import { describe, expect, it } from 'vitest';
import { csvLine, detectSeparator, readCsv } from '../../cli/csv.js';
import {
  arrayElementOffsets,
  detectFormat,
  formatProblem,
  parseRecipients,
  RecipientsFileError,
  type InputProblem,
} from '../../cli/recipients.js';

const BTC1 = '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa';
const BTC2 = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const BTC3 = '3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy';

function problemsOf(text: string, name = 'recipients.csv'): string[] {
  try {
    parseRecipients(text, name);
  } catch (err) {
    if (err instanceof RecipientsFileError)
      return err.problems.map((p: InputProblem) => formatProblem(name, p));
    throw err;
  }
  throw new Error('expected problems');
}

describe('readCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, keeping start lines', () => {
    const { records, problems } = readCsv(
      'a,b\r\n"x, y","say ""hi"""\r\n"multi\nline",z\n\nlast,1',
    );
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'], quoted: [false, false] },
      { line: 2, fields: ['x, y', 'say "hi"'], quoted: [true, true] },
      { line: 3, fields: ['multi\nline', 'z'], quoted: [true, false] },
      { line: 6, fields: ['last', '1'], quoted: [false, false] },
    ]);
  });

  it('ignores a byte order mark, blank lines and a lone CR line ending', () => {
    const { records } = readCsv('\uFEFFa,b\r\r\n   \rc,d\r');
    expect(records.map((r) => [r.line, r.fields])).toEqual([
      [1, ['a', 'b']],
      [4, ['c', 'd']],
    ]);
  });

  it('keeps empty fields, a trailing comma included', () => {
    expect(readCsv('a,,c,\n').records[0]?.fields).toEqual(['a', '', 'c', '']);
  });

  it('allows spaces around a quoted field', () => {
    expect(readCsv('a, "b, c" ,d').records[0]?.fields).toEqual(['a', 'b, c', 'd']);
  });

  it('reports a stray quote, text after a closing quote and an unclosed quote, and reads on', () => {
    const { records, problems } = readCsv('a"b,1\n"x"y,2\nok,3\n"open,4\nmore');
    expect(problems).toEqual([
      { line: 1, message: expect.stringContaining('a quote inside an unquoted field') },
      { line: 2, message: expect.stringContaining('unexpected text after a closing quote') },
      { line: 4, message: 'a quoted field is not closed' },
    ]);
    expect(records.map((r) => r.fields)).toEqual([['ok', '3']]);
  });

  it('writes fields that round-trip', () => {
    const line = csvLine([1, 'a,b', 'say "x"', null, 'multi\nline', '']);
    expect(line).toBe('1,"a,b","say ""x""",,"multi\nline",\n');
    expect(readCsv(line).records[0]?.fields).toEqual([
      '1',
      'a,b',
      'say "x"',
      '',
      'multi\nline',
      '',
    ]);
  });
});

describe('parseRecipients (CSV)', () => {
  it('reads address, amount and an optional externalId, amounts as strings', () => {
    const file = parseRecipients(
      `address,amount,externalId\n${BTC1},0.5,inv-1\n${BTC2},"1.25",\n${BTC3},10,"inv, 3"\n`,
      'r.csv',
    );
    expect(file.format).toBe('csv');
    expect(file.recipients).toEqual([
      { address: BTC1, amount: '0.5', externalId: 'inv-1' },
      { address: BTC2, amount: '1.25' },
      { address: BTC3, amount: '10', externalId: 'inv, 3' },
    ]);
    expect(file.lines).toEqual([2, 3, 4]);
  });

  it('handles CRLF, a BOM, blank lines, column order, header case and whitespace', () => {
    const text = `\uFEFF Amount , ADDRESS ,external_id\r\n\r\n 0.1 , ${BTC1} ,a\r\n,,\r\n0.2,${BTC2}\r\n`;
    const file = parseRecipients(text, 'r.csv');
    expect(file.recipients).toEqual([
      { address: BTC1, amount: '0.1', externalId: 'a' },
      { address: BTC2, amount: '0.2' },
    ]);
    expect(file.lines).toEqual([3, 5]);
  });

  it('reads a file without a header as address,amount[,externalId]', () => {
    const file = parseRecipients(`${BTC1},1\n${BTC2},2,x\n`, 'r.csv');
    expect(file.recipients).toEqual([
      { address: BTC1, amount: '1' },
      { address: BTC2, amount: '2', externalId: 'x' },
    ]);
    expect(file.lines).toEqual([1, 2]);
  });

  it('reports every problem with its line number', () => {
    const text = [
      'address,amount,externalId', // 1
      `${BTC1},1.5,a`, // 2
      `${BTC2},"1,5",b`, // 3
      `${BTC3},0,c`, // 4
      ',2,d', // 5
      `${BTC1},,e`, // 6
      `${BTC1},1e5,f`, // 7
      `${BTC1},-1,g`, // 8
      `${BTC2},1,a`, // 9
      `${BTC2},1,5,x`, // 10
      `${BTC1}`, // 11
      '', // 12
      `${BTC1},007,h`, // 13
      `${BTC1},1.`, // 14
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'recipients.csv:3: amount "1,5" is not a plain decimal: it has a comma; use a dot as the decimal separator and no grouping',
      'recipients.csv:4: amount "0" must be greater than 0',
      'recipients.csv:5: address is empty',
      'recipients.csv:6: amount is empty',
      'recipients.csv:7: amount "1e5" is not a plain decimal: it uses exponent notation; write the plain decimal',
      'recipients.csv:8: amount "-1" must be greater than 0',
      'recipients.csv:9: externalId "a" is also used on line 2',
      'recipients.csv:10: has 4 fields, expected 3 (address,amount,externalId); is there an unquoted comma in a value?',
      'recipients.csv:11: amount is missing (expected address,amount,externalId)',
      'recipients.csv:13: amount "007" is not a plain decimal: it has leading zeros',
      'recipients.csv:14: amount "1." is not a plain decimal: it needs digits on both sides of the dot',
    ]);
  });

  it('counts lines inside multi-line quoted fields and after CRLF', () => {
    const text = `address,amount\r\n${BTC1},1\r\n"${BTC2}\r\nbroken",2\r\n${BTC3},x\r\n`;
    expect(problemsOf(text)).toEqual([
      'recipients.csv:5: amount "x" is not a plain decimal: it is not a plain decimal number',
    ]);
  });

  it('reports header problems: missing and repeated columns', () => {
    expect(problemsOf(`address,externalId\n${BTC1},a`)).toEqual([
      'recipients.csv:1: the header has no amount column',
    ]);
    expect(problemsOf('address,amount,Amount\nx,1,2')).toEqual([
      'recipients.csv:1: the column amount appears twice',
    ]);
  });

  it('tolerates empty trailing cells from spreadsheets', () => {
    const file = parseRecipients(`address,amount,,\n${BTC1},1,,\n`, 'r.csv');
    expect(file.recipients).toEqual([{ address: BTC1, amount: '1' }]);
  });

  it('reports syntax problems and an empty file', () => {
    expect(problemsOf(`address,amount\n"${BTC1},1\n`)).toEqual([
      'recipients.csv:2: a quoted field is not closed',
    ]);
    expect(problemsOf('address,amount,externalId\r\n\r\n')).toEqual([
      'recipients.csv: has no recipients',
    ]);
    expect(problemsOf('')).toEqual(['recipients.csv: has no recipients']);
  });
});

describe('parseRecipients (CSV from spreadsheets and exports)', () => {
  it('reads a semicolon file with decimal commas exactly, and says so once', () => {
    const file = parseRecipients(
      `address;amount;externalId\r\n${BTC1};1,5;a\r\n${BTC2};0,00000001;"b;c"\r\n${BTC3};2;d\r\n`,
      'r.csv',
    );
    expect(file.recipients).toEqual([
      { address: BTC1, amount: '1.5', externalId: 'a' },
      { address: BTC2, amount: '0.00000001', externalId: 'b;c' },
      { address: BTC3, amount: '2', externalId: 'd' },
    ]);
    expect(file.lines).toEqual([2, 3, 4]);
    expect(file.notes).toEqual([
      'columns separated by semicolons',
      '2 amounts with a decimal comma read as exact decimals (line 2: 1,5 is 1.5)',
    ]);
  });

  it('reads a semicolon file with dot decimals, and a headerless one with decimal commas', () => {
    const dots = parseRecipients(`address;amount\n${BTC1};1.25\n${BTC2};3\n`, 'r.csv');
    expect(dots.recipients).toEqual([
      { address: BTC1, amount: '1.25' },
      { address: BTC2, amount: '3' },
    ]);
    expect(dots.notes).toEqual(['columns separated by semicolons']);
    const headerless = parseRecipients(`${BTC1};1,25\n${BTC2};3,75;x\n`, 'r.csv');
    expect(headerless.recipients).toEqual([
      { address: BTC1, amount: '1.25' },
      { address: BTC2, amount: '3.75', externalId: 'x' },
    ]);
    expect(headerless.lines).toEqual([1, 2]);
  });

  it('refuses amounts whose separators are ambiguous, each on its line', () => {
    const text = [
      'address;amount;externalId', // 1
      `${BTC1};1.234,5;a`, // 2
      `${BTC2};1,234,5;b`, // 3
      `${BTC3};1,5;c`, // 4
      `${BTC1};2.5;d`, // 5
      `${BTC2};,5;e`, // 6
      `${BTC3};0,0;f`, // 7
      `${BTC1};1,2,3;g`, // 8
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'recipients.csv:2: amount "1.234,5" has both a dot and a comma, so one of them may group thousands: write it without grouping, e.g. 1234,5',
      'recipients.csv:3: amount "1,234,5" is not a plain decimal: a decimal comma needs digits on both sides, and no grouping',
      'recipients.csv:5: amount "2.5" has a dot, but line 4 writes a decimal comma (1,5): the dot may group thousands; write every amount with a decimal comma, or every one with a dot',
      'recipients.csv:6: amount ",5" is not a plain decimal: a decimal comma needs digits on both sides, and no grouping',
      'recipients.csv:7: amount "0,0" must be greater than 0',
      'recipients.csv:8: amount "1,2,3" is not a plain decimal: a decimal comma needs digits on both sides, and no grouping',
    ]);
  });

  it('keeps refusing a decimal comma in a comma-separated file', () => {
    expect(problemsOf(`address,amount\n${BTC1},"1,5"\n`)).toEqual([
      'recipients.csv:2: amount "1,5" is not a plain decimal: it has a comma; use a dot as the decimal separator and no grouping',
    ]);
  });

  it('says once that a byte order mark was ignored', () => {
    expect(parseRecipients(`\uFEFFaddress,amount\n${BTC1},1\n`, 'r.csv').notes).toEqual([
      'starts with a UTF-8 byte order mark (ignored)',
    ]);
    expect(parseRecipients(`address,amount\n${BTC1},1\n`, 'r.csv').notes).toEqual([]);
  });

  it('reads the failed-payments export as it is, listing the ignored columns once', () => {
    const exported = [
      'index,address,amount,externalId,state,transactionHash,fee,reason',
      `3,${BTC1},0.4,"inv, 3",FAILED,,,"AML_REJECTED: address flagged; NO_BALANCE"`,
      `5,${BTC2},0.6,,FAILED,,,"FAILED, no error given by Calypso"`,
    ].join('\r\n');
    const file = parseRecipients(`${exported}\r\n`, 'failed.csv');
    expect(file.recipients).toEqual([
      { address: BTC1, amount: '0.4', externalId: 'inv, 3' },
      { address: BTC2, amount: '0.6' },
    ]);
    expect(file.lines).toEqual([2, 3]);
    expect(file.notes).toEqual([
      'ignored columns index, state, transactionHash, fee, reason (only address, amount and externalId are read)',
    ]);
  });

  it('reads back externalIds the export made spreadsheet-safe, exactly', () => {
    const ids = ['=SUM(A1)', '-inv-7', '+1', '@x', "'=quoted", 'plain'];
    const exported =
      csvLine(['address', 'amount', 'externalId', 'reason']) +
      ids.map((id, i) => csvLine([BTC1, `0.${i + 1}`, id, '-'])).join('');
    expect(exported).toContain(`,'=SUM(A1),'-`);
    const file = parseRecipients(exported, 'failed.csv');
    expect(file.recipients.map((r) => r.externalId)).toEqual(ids);
    expect(file.notes).toContain(
      `5 cells written spreadsheet-safe read without the leading ' (line 2: "'=SUM(A1)" is "=SUM(A1)")`,
    );
  });

  it('still refuses values beyond the header, and a typo leaves its column missing', () => {
    expect(problemsOf(`address,amount\n${BTC1},1,extra\n`)).toEqual([
      'recipients.csv:2: has 3 fields, expected 2 (address,amount); is there an unquoted comma in a value?',
    ]);
    expect(problemsOf(`address,amuont\n${BTC1},1\n`)).toEqual([
      'recipients.csv:1: the header has no amount column',
    ]);
  });
});

describe('detectSeparator', () => {
  it('takes the semicolon when the first line has at least as many, outside quotes', () => {
    expect(detectSeparator('address;amount;externalId\n')).toBe(';');
    expect(detectSeparator(`\uFEFF\n\n${BTC1};1,5\n`)).toBe(';');
    expect(detectSeparator(`${BTC1},1.5,"a;b;c"\n`)).toBe(',');
    expect(detectSeparator(`${BTC1},1.5,a;b\n`)).toBe(',');
    expect(detectSeparator('address,amount\nx;1;2;3\n')).toBe(',');
  });
});

describe('parseRecipients (JSON)', () => {
  it('reads an array, with the line each recipient starts on', () => {
    const text = `[\n  {"address": "${BTC1}", "amount": "0.5", "externalId": "a"},\n  {\n    "address": "${BTC2}",\n    "amount": "2"\n  }\n]\n`;
    const file = parseRecipients(text, 'r.json');
    expect(file.format).toBe('json');
    expect(file.recipients).toEqual([
      { address: BTC1, amount: '0.5', externalId: 'a' },
      { address: BTC2, amount: '2' },
    ]);
    expect(file.lines).toEqual([2, 3]);
  });

  it('reads {"recipients": [...]} with a BOM and CRLF', () => {
    const text = `\uFEFF{\r\n "note": null,\r\n "recipients": [\r\n  {"address": "${BTC1}", "amount": "1", "externalId": null}\r\n ]\r\n}`;
    expect(() => parseRecipients(text, 'r.json')).toThrow(RecipientsFileError);
    const ok = `\uFEFF{\r\n "recipients": [\r\n  {"address": "${BTC1}", "amount": "1", "externalId": null}\r\n ]\r\n}`;
    const file = parseRecipients(ok, 'r.json');
    expect(file.recipients).toEqual([{ address: BTC1, amount: '1' }]);
    expect(file.lines).toEqual([3]);
  });

  it('reports problems by line, JSON numbers as amounts included', () => {
    const text = [
      '{"recipients": [', // 1
      `  {"address": "${BTC1}", "amount": 0.1},`, // 2
      `  {"address": "${BTC2}", "amount": "1,5"},`, // 3
      '  {"amount": "1", "memo": "x"},', // 4
      '  "not an object",', // 5
      `  {"address": "${BTC3}", "amount": "1", "externalId": 7}`, // 6
      ']}',
    ].join('\n');
    expect(problemsOf(text, 'r.json')).toEqual([
      'r.json:2: amount must be a decimal string such as "10.50", not a JSON number',
      'r.json:3: amount "1,5" is not a plain decimal: it has a comma; use a dot as the decimal separator and no grouping',
      'r.json:4: unknown field "memo"; a recipient has address, amount and externalId',
      'r.json:4: address is missing',
      'r.json:5: a recipient must be an object {"address", "amount", "externalId"?}',
      'r.json:6: externalId must be a string',
    ]);
  });

  it('reports invalid JSON with its line, and wrong shapes', () => {
    expect(problemsOf('[\n {"address": "x", "amount": "1"},\n }\n]', 'r.json')).toEqual([
      "r.json:3: is not valid JSON: Array item expected but got '}'",
    ]);
    expect(problemsOf('{"people": []}', 'r.json')).toEqual([
      'r.json: has unknown field "people"; it holds {"recipients": [...]} or an array of recipients',
      'r.json: needs a "recipients" array',
    ]);
    expect(problemsOf('[]', 'r.json')).toEqual(['r.json: has no recipients']);
    expect(problemsOf('"x"', 'r.json')).toEqual([
      'r.json: must hold an array of recipients or {"recipients": [...]}',
    ]);
  });

  it('finds element offsets past strings holding brackets, commas and escaped quotes', () => {
    const text = '{"a": {"recipients": [9]}, "recipients": [ {"x": "],\\"}"}, [1, {"y": []}], 3 ]}';
    const offsets = arrayElementOffsets(text, 'recipients');
    expect(offsets.map((o) => text[o])).toEqual(['{', '[', '3']);
    expect(text.slice(offsets[0], offsets[0]! + 5)).toBe('{"x":');
  });
});

describe('detectFormat', () => {
  it('goes by extension, then by the first character', () => {
    expect(detectFormat('a.JSON', 'x')).toBe('json');
    expect(detectFormat('a.csv', '[')).toBe('csv');
    expect(detectFormat('-', '\uFEFF  [{}]')).toBe('json');
    expect(detectFormat('-', 'address,amount')).toBe('csv');
  });
});
