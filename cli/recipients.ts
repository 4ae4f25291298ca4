/**
 * Reading a recipients file (CSV or JSON) into the API's recipient list, remembering the line
 * each recipient came from so that every problem, ours or the API's, is reported as `file:line`.
 *
 * CSV: a header naming the columns `address`, `amount` and optionally `externalId` (any order,
 * any case; other columns, such as those of the failed-payments export, are ignored and listed),
 * or no header with the columns in that order. Fields are separated by commas or semicolons. In a
 * semicolon file an amount may have a decimal comma (`1,5`, as a European spreadsheet writes it):
 * it is read exactly as `1.5`, text to text; `1.234,5` and a file mixing `1,5` with `1.5` are
 * refused, since the dot may group thousands. A cell the withdrawals export made spreadsheet-safe
 * (`'` before `=`, `+`, `-`, `@`, a tab or CR) is read without that quote. JSON: an array of `{address, amount, externalId?}`
 * or `{"recipients": [...]}`. Amounts are decimal strings and stay strings.
 */
import { basename, extname } from 'node:path';
import { parse as parseLossless } from 'lossless-json';
import { checkAmount } from '../shared/domain/money.js';
import {
  detectSeparator,
  hasByteOrderMark,
  readCsv,
  unSpreadsheetSafe,
  type CsvRecord,
} from './csv.js';

export interface Recipient {
  address: string;
  amount: string;
  externalId?: string;
}

export type RecipientsFormat = 'csv' | 'json';

export interface RecipientsFile {
  /** As given on the command line; used in messages. */
  name: string;
  format: RecipientsFormat;
  recipients: Recipient[];
  /** `lines[i]` is the line recipient `i` starts on. */
  lines: number[];
  /** How the file was read, where that is not the plain default: said once to the user. */
  notes: string[];
}

export interface InputProblem {
  /** Absent for a problem with the file as a whole. */
  line?: number;
  message: string;
}

export class RecipientsFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: InputProblem[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    this.name = 'RecipientsFileError';
  }
}

/** `recipients.csv:14: message`, or `recipients.csv: message` without a line. */
export function formatProblem(file: string, problem: InputProblem): string {
  return problem.line === undefined
    ? `${file}: ${problem.message}`
    : `${file}:${problem.line}: ${problem.message}`;
}

/** CSV or JSON: from the extension, else from the first character. */
export function detectFormat(name: string, text: string): RecipientsFormat {
  const ext = extname(name).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.csv' || ext === '.txt') return 'csv';
  const first = text.replace(/^\uFEFF/, '').trimStart()[0];
  return first === '[' || first === '{' ? 'json' : 'csv';
}

/** Reads the file's text; throws RecipientsFileError listing every problem found. */
export function parseRecipients(
  text: string,
  name: string,
  format = detectFormat(name, text),
): RecipientsFile {
  const result = format === 'json' ? fromJson(text) : fromCsv(text);
  if (result.problems.length === 0 && result.recipients.length === 0) {
    result.problems.push({ message: 'has no recipients' });
  }
  if (result.problems.length > 0) {
    result.problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    throw new RecipientsFileError(name, result.problems);
  }
  return {
    name,
    format,
    recipients: result.recipients,
    lines: result.lines,
    notes: result.notes,
  };
}

/** The short name used in messages: the path as given, or `stdin`. */
export function displayName(path: string): string {
  return path === '-' ? 'stdin' : path.includes('/') && path.length > 60 ? basename(path) : path;
}

interface Collected {
  recipients: Recipient[];
  lines: number[];
  problems: InputProblem[];
  notes: string[];
}

const BOM_NOTE = 'starts with a UTF-8 byte order mark (ignored)';

// ---------------------------------------------------------------------------------------------
// CSV

type Column = 'address' | 'amount' | 'externalId';
const COLUMNS: readonly Column[] = ['address', 'amount', 'externalId'];

function columnOf(header: string): Column | undefined {
  const key = header
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, '');
  if (key === 'address') return 'address';
  if (key === 'amount') return 'amount';
  if (key === 'externalid') return 'externalId';
  return undefined;
}

function looksLikeHeader(record: CsvRecord): boolean {
  return record.fields.some((f) => {
    const column = columnOf(f);
    return column === 'address' || column === 'amount';
  });
}

function fromCsv(text: string): Collected {
  const separator = detectSeparator(text);
  const { records, problems: syntax } = readCsv(text, separator);
  const out: Collected = { recipients: [], lines: [], problems: [...syntax], notes: [] };
  if (hasByteOrderMark(text)) out.notes.push(BOM_NOTE);
  if (separator === ';') out.notes.push('columns separated by semicolons');
  const rows = records.filter((r) => r.fields.some((f) => f.trim() !== ''));
  const first = rows[0];
  if (!first) return out;

  let columns: (Column | undefined)[] = [...COLUMNS];
  let data = rows;
  if (looksLikeHeader(first)) {
    data = rows.slice(1);
    columns = first.fields.map((f) => columnOf(f));
    const seen = new Set<Column>();
    const ignored: string[] = [];
    first.fields.forEach((f, index) => {
      const column = columns[index];
      if (column === undefined) {
        if (f.trim() !== '') ignored.push(f.trim());
      } else if (seen.has(column)) {
        out.problems.push({ line: first.line, message: `the column ${column} appears twice` });
      } else {
        seen.add(column);
      }
    });
    for (const needed of ['address', 'amount'] as const) {
      if (!seen.has(needed))
        out.problems.push({ line: first.line, message: `the header has no ${needed} column` });
    }
    if (ignored.length > 0) {
      out.notes.push(
        `ignored column${ignored.length === 1 ? '' : 's'} ${ignored.join(', ')} (only address, amount and externalId are read)`,
      );
    }
    if (out.problems.some((p) => p.line === first.line)) return out;
    // Trailing cells with an empty header (from spreadsheets) are not columns.
    let named = first.fields.length;
    while (named > 0 && first.fields[named - 1]!.trim() === '') named -= 1;
    columns = columns.slice(0, named);
  }
  const expected = columns.filter((c) => c !== undefined).join(',');
  const amounts = new AmountReader(separator === ';');

  const firstLineOf = new Map<string, number>();
  /** Cells the withdrawals export made spreadsheet-safe (`'=…`), read back without the quote. */
  const unquoted: { line: number; cell: string; read: string }[] = [];
  for (const row of data) {
    const problems: string[] = [];
    const fields = row.fields.map((value, index) => {
      const cell = row.quoted[index] ? value : value.trim();
      const read = columns[index] === undefined ? cell : unSpreadsheetSafe(cell);
      if (read !== cell) unquoted.push({ line: row.line, cell, read });
      return read;
    });
    // Empty cells past the known columns (trailing separators) are tolerated.
    if (fields.length > columns.length && fields.slice(columns.length).some((f) => f !== '')) {
      out.problems.push({
        line: row.line,
        message: `has ${fields.length} fields, expected ${columns.length} (${expected}); is there an unquoted ${separator === ';' ? 'semicolon' : 'comma'} in a value?`,
      });
      continue;
    }
    const value = (column: Column): string | undefined => {
      const index = columns.indexOf(column);
      return index === -1 ? undefined : fields[index];
    };
    const address = value('address');
    const amountText = value('amount');
    const externalId = value('externalId');

    if (address === undefined) problems.push(`address is missing (expected ${expected})`);
    else if (address === '') problems.push('address is empty');
    let amount: string | undefined;
    if (amountText === undefined) problems.push(`amount is missing (expected ${expected})`);
    else {
      const read = amounts.read(amountText, row.line);
      if ('problem' in read) problems.push(read.problem);
      else amount = read.amount;
    }
    if (externalId !== undefined && externalId !== '') {
      const earlier = firstLineOf.get(externalId);
      if (earlier !== undefined)
        problems.push(`externalId ${quote(externalId)} is also used on line ${earlier}`);
      else firstLineOf.set(externalId, row.line);
    }
    if (problems.length > 0) {
      for (const message of problems) out.problems.push({ line: row.line, message });
      continue;
    }
    out.recipients.push({
      address: address!,
      amount: amount!,
      ...(externalId ? { externalId } : {}),
    });
    out.lines.push(row.line);
  }
  out.problems.push(...amounts.mixedConventions());
  const example = unquoted[0];
  if (example) {
    const n = unquoted.length;
    out.notes.push(
      `${n} cell${n === 1 ? '' : 's'} written spreadsheet-safe read without the leading ' (line ${example.line}: ${quote(example.cell)} is ${quote(example.read)})`,
    );
  }
  const commaNote = amounts.decimalCommaNote();
  if (commaNote) out.notes.push(commaNote);
  return out;
}

/**
 * Reads the amounts of one CSV file. In a semicolon file, `1,5` is a decimal comma: the text
 * becomes `1.5` by swapping the one character, so the value is exactly what was written (and
 * checked as any other amount). A dot and a comma together (`1.234,5`), or several commas, are
 * refused: the dot or the commas may group thousands. So is a dot in a file that elsewhere uses
 * decimal commas, for the same reason.
 */
class AmountReader {
  private readonly commaLines: { line: number; text: string; amount: string }[] = [];
  private readonly dotLines: { line: number; text: string }[] = [];

  constructor(private readonly decimalComma: boolean) {}

  read(text: string, line: number): { amount: string } | { problem: string } {
    if (!this.decimalComma || !text.includes(',')) {
      const problem = checkAmountText(text);
      if (problem) return { problem };
      if (text.includes('.')) this.dotLines.push({ line, text });
      return { amount: text };
    }
    if (text.includes('.')) {
      return {
        problem: `amount ${quote(text)} has both a dot and a comma, so one of them may group thousands: write it without grouping, e.g. 1234,5`,
      };
    }
    if (!/^[0-9]+,[0-9]+$/.test(text)) {
      return {
        problem: `amount ${quote(text)} is not a plain decimal: a decimal comma needs digits on both sides, and no grouping`,
      };
    }
    const amount = text.replace(',', '.');
    const problem = checkAmountText(amount, text);
    if (problem) return { problem };
    this.commaLines.push({ line, text, amount });
    return { amount };
  }

  /** Lines with a dot in a file that elsewhere writes decimal commas. */
  mixedConventions(): InputProblem[] {
    const example = this.commaLines[0];
    if (!example) return [];
    return this.dotLines.map(({ line, text }) => ({
      line,
      message: `amount ${quote(text)} has a dot, but line ${example.line} writes a decimal comma (${example.text}): the dot may group thousands; write every amount with a decimal comma, or every one with a dot`,
    }));
  }

  decimalCommaNote(): string | undefined {
    const example = this.commaLines[0];
    if (!example) return undefined;
    const n = this.commaLines.length;
    return `${n} amount${n === 1 ? '' : 's'} with a decimal comma read as exact decimals (line ${example.line}: ${example.text} is ${example.amount})`;
  }
}

/**
 * A problem with an amount's text, or undefined when it is a positive plain decimal. `written` is
 * the text as it stands in the file, when it differs (a decimal comma).
 */
function checkAmountText(amount: string, written = amount): string | undefined {
  if (amount === '') return 'amount is empty';
  const checked = checkAmount(amount, Number.MAX_SAFE_INTEGER);
  if (checked.ok) return undefined;
  if (checked.problem === 'format')
    return `amount ${quote(written)} is not a plain decimal: it ${checked.message}`;
  return `amount ${quote(written)} ${checked.message}`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

// ---------------------------------------------------------------------------------------------
// JSON

const RECIPIENT_KEYS = new Set(['address', 'amount', 'externalId']);

function fromJson(input: string): Collected {
  const text = input.replace(/^\uFEFF/, '');
  const out: Collected = {
    recipients: [],
    lines: [],
    problems: [],
    notes: hasByteOrderMark(input) ? [BOM_NOTE] : [],
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const located = locateJsonError(text);
    out.problems.push(
      located
        ? { line: lineAt(text, located.position), message: `is not valid JSON: ${located.message}` }
        : { message: `is not valid JSON: ${(err as Error).message}` },
    );
    return out;
  }

  let list: unknown[];
  let offsets: number[];
  if (Array.isArray(parsed)) {
    list = parsed;
    offsets = arrayElementOffsets(text);
  } else if (typeof parsed === 'object' && parsed !== null) {
    const extra = Object.keys(parsed).filter((k) => k !== 'recipients');
    if (extra.length > 0) {
      out.problems.push({
        message: `has unknown field${extra.length === 1 ? '' : 's'} ${extra.map(quote).join(', ')}; it holds {"recipients": [...]} or an array of recipients`,
      });
    }
    const recipients = (parsed as { recipients?: unknown }).recipients;
    if (!Array.isArray(recipients)) {
      out.problems.push({ message: 'needs a "recipients" array' });
      return out;
    }
    list = recipients;
    offsets = arrayElementOffsets(text, 'recipients');
  } else {
    out.problems.push({ message: 'must hold an array of recipients or {"recipients": [...]}' });
    return out;
  }

  const lineStarts = lineStartOffsets(text);
  const firstLineOf = new Map<string, number>();
  list.forEach((item, index) => {
    const line =
      offsets[index] === undefined ? undefined : lineFromStarts(lineStarts, offsets[index]);
    const at = line === undefined ? `recipients[${index}]: ` : '';
    const report = (message: string) =>
      out.problems.push({ ...(line !== undefined ? { line } : {}), message: at + message });
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      report('a recipient must be an object {"address", "amount", "externalId"?}');
      return;
    }
    const record = item as Record<string, unknown>;
    const before = out.problems.length;
    for (const key of Object.keys(record)) {
      if (!RECIPIENT_KEYS.has(key))
        report(`unknown field ${quote(key)}; a recipient has address, amount and externalId`);
    }
    const { address, amount, externalId } = record;
    if (address === undefined) report('address is missing');
    else if (typeof address !== 'string') report('address must be a string');
    else if (address.trim() === '') report('address is empty');
    if (amount === undefined) report('amount is missing');
    else if (typeof amount === 'number')
      report('amount must be a decimal string such as "10.50", not a JSON number');
    else if (typeof amount !== 'string') report('amount must be a decimal string such as "10.50"');
    else {
      const problem = checkAmountText(amount);
      if (problem) report(problem);
    }
    if (externalId !== undefined && externalId !== null) {
      if (typeof externalId !== 'string') report('externalId must be a string');
      else if (externalId !== '') {
        const earlier = firstLineOf.get(externalId);
        if (earlier !== undefined) {
          report(
            `externalId ${quote(externalId)} is also used ${line === undefined ? `by recipients[${earlier}]` : `on line ${earlier}`}`,
          );
        } else {
          firstLineOf.set(externalId, line ?? index);
        }
      }
    }
    if (out.problems.length > before) return;
    out.recipients.push({
      address: address as string,
      amount: amount as string,
      ...(typeof externalId === 'string' && externalId !== '' ? { externalId } : {}),
    });
    out.lines.push(line ?? index + 1);
  });
  return out;
}

/** Where JSON text goes wrong: lossless-json's parser says at which offset (JSON.parse may not). */
function locateJsonError(text: string): { message: string; position: number } | undefined {
  try {
    parseLossless(text);
  } catch (err) {
    const match = /^(.*) at position (\d+)$/s.exec((err as Error).message);
    if (match) return { message: match[1]!, position: Number(match[2]) };
  }
  return undefined;
}

function lineStartOffsets(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) starts.push(i + 1);
  }
  return starts;
}

function lineFromStarts(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function lineAt(text: string, offset: number): number {
  return lineFromStarts(lineStartOffsets(text), Math.min(offset, text.length));
}

/**
 * Where each element of the recipients array starts in (valid) JSON text: the top-level array,
 * or the array under `key` in the top-level object (the last one, as JSON.parse keeps the last).
 */
export function arrayElementOffsets(text: string, key?: string): number[] {
  let i = 0;
  const ws = () => {
    while (
      i < text.length &&
      (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')
    )
      i++;
  };
  const skipString = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++; // closing quote
  };
  const skipValue = (): void => {
    ws();
    const open = text[i];
    if (open === '"') return skipString();
    if (open === '[' || open === '{') {
      const close = open === '[' ? ']' : '}';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (open === '{') {
          ws();
          skipString();
          ws();
          i++; // colon
        }
        skipValue();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        i++; // close
        return;
      }
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  const elements = (): number[] => {
    const found: number[] = [];
    i++; // [
    ws();
    if (text[i] === ']') {
      i++;
      return found;
    }
    for (;;) {
      ws();
      found.push(i);
      skipValue();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      i++; // ]
      return found;
    }
  };

  ws();
  if (key === undefined) return text[i] === '[' ? elements() : [];
  if (text[i] !== '{') return [];
  i++;
  let found: number[] = [];
  for (;;) {
    ws();
    if (text[i] !== '"') return found;
    const start = i;
    skipString();
    const name = JSON.parse(text.slice(start, i)) as string;
    ws();
    i++; // colon
    ws();
    if (name === key && text[i] === '[') found = elements();
    else skipValue();
    ws();
    if (text[i] !== ',') return found;
    i++;
  }
}
