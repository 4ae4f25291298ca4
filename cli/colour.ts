/**
 * ANSI colour for the CLI's text, only where a person reads it: on a terminal, and never when
 * NO_COLOR is set to anything but the empty string (https://no-color.org) or TERM is `dumb`.
 * Anywhere else (a file, a pipe, a script) the text is exactly what it would be without colour.
 */
import type { Output } from './context.js';

export interface Colours {
  enabled: boolean;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
}

const plain = (text: string) => text;

export const NO_COLOURS: Colours = {
  enabled: false,
  green: plain,
  red: plain,
  yellow: plain,
  dim: plain,
};

const sgr = (code: string) => (text: string) => (text === '' ? '' : `\x1b[${code}m${text}\x1b[0m`);

const ANSI_COLOURS: Colours = {
  enabled: true,
  green: sgr('32'),
  red: sgr('31'),
  yellow: sgr('33'),
  dim: sgr('2'),
};

export function coloursFor(output: Output, env: Record<string, string | undefined>): Colours {
  const wanted =
    output.isTTY === true &&
    (env.NO_COLOR === undefined || env.NO_COLOR === '') &&
    env.TERM !== 'dumb';
  return wanted ? ANSI_COLOURS : NO_COLOURS;
}
