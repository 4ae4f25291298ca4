/**
 * The limits and formats a payout request's fields share with the queries and schemas that name
 * them. Kept apart from the request's validation, which loads the address checks: a read
 * handler that only needs these carries none of that.
 */

export const NAME_MAX = 200;
export const COMMENT_MAX = 1000;
export const EXTERNAL_ID_MAX = 128;

const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * The instant of an ISO-8601 date-time with a zone, or undefined when it names no real time.
 * `Date` alone rolls impossible fields over (`2030-02-30` becomes March 2nd, `T24:00` the next
 * day), so every field is checked against the calendar first.
 */
export function parseDateTime(text: string): Date | undefined {
  const match = ISO_WITH_ZONE.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second = 0, offsetHours = 0, offsetMinutes = 0] = match
    .slice(1)
    .map((part) => (part === undefined ? undefined : Number(part)));
  if (month === undefined || month < 1 || month > 12) return undefined;
  const daysInMonth = new Date(Date.UTC(year!, month, 0)).getUTCDate();
  if (day === undefined || day < 1 || day > daysInMonth) return undefined;
  if (hour! > 23 || minute! > 59 || second > 59) return undefined;
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const parsed = new Date(text);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed;
}
