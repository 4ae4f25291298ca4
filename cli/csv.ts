/**
 * A small RFC 4180 CSV reader that keeps line numbers, and the matching writer.
 *
 * Reading: fields are separated by commas, or by semicolons as spreadsheets in many European
 * locales write them (`detectSeparator` tells which); a field may be quoted with `"`, a quote inside a quoted
 * field is doubled (`""`), and a quoted field may span lines. Records end at CRLF, LF or a lone CR.
 * A leading byte order mark is ignored. Each record carries the line it starts on, so problems can
 * be reported as `file:line`. A malformed record is reported and skipped; reading goes on with the
 * next line, so every problem in a file is found in one pass.
 *
 * Writing: a text cell that a spreadsheet would run as a formula is neutralised (see csvField);
 * `unSpreadsheetSafe` undoes exactly that when such a file is read back.
 */

export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  fields: string[];
  /** Per field: whether it was quoted (its text is then taken verbatim). */
  quoted: boolean[];
}

export interface CsvProblem {
  line: number;
  message: string;
}

export interface CsvReadResult {
  records: CsvRecord[];
  problems: CsvProblem[];
}

const BOM = '\uFEFF';

export type CsvSeparator = ',' | ';';

export function hasByteOrderMark(text: string): boolean {
  return text.startsWith(BOM);
}

/**
 * `;` when the first non-blank line has at least as many semicolons as commas outside quotes
 * (and at least one), else `,`. A semicolon file's amounts may hold decimal commas (`1,5`), so a
 * tie goes to the semicolon.
 */
export function detectSeparator(input: string): CsvSeparator {
  const text = hasByteOrderMark(input) ? input.slice(1) : input;
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  let seen = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) {
      if (seen) break;
    } else if (!quoted && c === ',') commas += 1;
    else if (!quoted && c === ';') semicolons += 1;
    if (c.trim() !== '') seen = true;
  }
  return semicolons > 0 && semicolons >= commas ? ';' : ',';
}

/** Splits CSV text into records; blank lines are left out. */
export function readCsv(input: string, separator: CsvSeparator = ','): CsvReadResult {
  const text = input.startsWith(BOM) ? input.slice(1) : input;
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  let i = 0;
  let line = 1;

  /** Consumes a line break at `i` if there is one; true when it did. */
  const lineBreak = (): boolean => {
    const c = text[i];
    if (c === '\r') {
      i += text[i + 1] === '\n' ? 2 : 1;
      line += 1;
      return true;
    }
    if (c === '\n') {
      i += 1;
      line += 1;
      return true;
    }
    return false;
  };

  /** After a problem: skips the rest of the physical line. */
  const skipLine = () => {
    while (i < text.length && !lineBreak()) i += 1;
  };

  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    const quoted: boolean[] = [];
    let problem: string | undefined;
    let ended = false;

    while (!ended && problem === undefined) {
      // Spaces before an opening quote are ignored (` "a, b"` is one quoted field).
      let lead = i;
      while (text[lead] === ' ' || text[lead] === '\t') lead += 1;
      if (text[lead] === '"') i = lead;
      if (text[i] === '"') {
        // Quoted field: runs to the next quote that is not doubled.
        const openedOn = line;
        i += 1;
        let value = '';
        let closed = false;
        while (i < text.length) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i += 1;
            closed = true;
            break;
          }
          if (c === '\r' || c === '\n') {
            const from = i;
            lineBreak();
            value += text.slice(from, i);
            continue;
          }
          value += c;
          i += 1;
        }
        if (!closed) {
          problems.push({ line: openedOn, message: 'a quoted field is not closed' });
          return { records, problems };
        }
        fields.push(value);
        quoted.push(true);
        while (text[i] === ' ' || text[i] === '\t') i += 1;
        if (text[i] === separator) {
          i += 1;
        } else if (i >= text.length || lineBreak()) {
          ended = true;
        } else {
          problem =
            'unexpected text after a closing quote (a quote inside a quoted field is written "")';
        }
      } else {
        let value = '';
        while (i < text.length && text[i] !== separator && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') {
            problem =
              'a quote inside an unquoted field (quote the whole field and double the quote: "a""b")';
            break;
          }
          value += text[i];
          i += 1;
        }
        if (problem !== undefined) break;
        fields.push(value);
        quoted.push(false);
        if (text[i] === separator) {
          i += 1;
        } else {
          lineBreak();
          ended = true;
        }
      }
    }

    if (problem !== undefined) {
      problems.push({ line: start, message: problem });
      skipLine();
      continue;
    }
    const blank = fields.length === 1 && !quoted[0] && fields[0]!.trim() === '';
    if (!blank) records.push({ line: start, fields, quoted });
  }
  return { records, problems };
}

/**
 * A cell a spreadsheet would read as a formula: it starts with `=`, `+`, `-`, `@`, a tab or a
 * carriage return (OWASP, CSV injection), possibly behind single quotes of its own.
 */
const FORMULA_START = /^'*[=+\-@\t\r]/;

/**
 * A text cell a spreadsheet shows as text: one that starts like a formula gets a leading single
 * quote, as OWASP's CSV injection guidance says. Exported values come from callers (externalIds)
 * and from Calypso, so neither is trusted. Our amounts and fees start with a digit and pass
 * unchanged. A cell that already starts with quotes before such a character gets one more, so
 * that `unSpreadsheetSafe` gives back exactly the value, whatever it was.
 */
export function spreadsheetSafe(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/**
 * The value of a cell `spreadsheetSafe` wrote: a cell that is `'` followed by what makes a formula
 * loses that one quote; anything else is left as it is. So the failed-payments export goes back
 * into `payouts create` with its externalIds intact.
 */
export function unSpreadsheetSafe(cell: string): string {
  return cell.startsWith("'") && FORMULA_START.test(cell.slice(1)) ? cell.slice(1) : cell;
}

/**
 * One CSV field: text neutralised against formulas, then quoted when it holds a comma, a quote
 * or a line break. Numbers are written as they are.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? spreadsheetSafe(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line, LF-terminated. */
export function csvLine(values: readonly (string | number | null | undefined)[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
