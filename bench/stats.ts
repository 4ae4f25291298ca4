/** Medians, paired ratios, timers and number formatting for the report. */
import { performance } from 'node:perf_hooks';

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The ratio of a measurement to its baseline, as the median of the ratios of runs made side by
 * side (each pair ran back to back), so slow drifts of a shared machine cancel out.
 */
export function pairedRatio(measured: readonly number[], baseline: readonly number[]): number {
  const n = Math.min(measured.length, baseline.length);
  return median(Array.from({ length: n }, (_, i) => measured[i]! / baseline[i]!));
}

/** Milliseconds taken by `work`. */
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export function timeSyncMs(work: () => unknown): number {
  const started = performance.now();
  work();
  return performance.now() - started;
}

// ---- formatting ---------------------------------------------------------------------------

const group = (n: number, digits: number) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** 1,234 ms / 12.3 ms / 0.45 ms */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return `${group(value, 0)} ms`;
  if (value >= 10) return `${group(value, 1)} ms`;
  return `${group(value, 2)} ms`;
}

/** Seconds with one decimal (or two under 10 s). */
export function seconds(valueMs: number): string {
  if (!Number.isFinite(valueMs)) return 'n/a';
  const s = valueMs / 1000;
  return `${group(s, s >= 10 ? 1 : 2)} s`;
}

export function count(value: number, digits = 0): string {
  return Number.isFinite(value) ? group(value, digits) : 'n/a';
}

/** A per-second rate with three significant figures. */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return 'n/a';
  if (perSecond >= 1000) return group(Math.round(perSecond / 10) * 10, 0);
  if (perSecond >= 100) return group(perSecond, 0);
  return group(perSecond, 1);
}

/** ×1.23, ×12.3, ×123 */
export function ratio(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return `×${group(value, 0)}`;
  if (value >= 10) return `×${group(value, 1)}`;
  return `×${group(value, 2)}`;
}

export function bytes(n: number): string {
  if (n >= 1024 * 1024) return `${group(n / 1024 / 1024, 2)} MiB`;
  if (n >= 1024) return `${group(n / 1024, 0)} KiB`;
  return `${n} B`;
}
