/** The one-paragraph reading of the figures, written from this run's numbers. */
import type { ColdStartResult } from './figures/cold-start.js';
import type { CreateResult } from './figures/create.js';
import type { EndToEndResult } from './figures/end-to-end.js';
import type { ReconcilerResult } from './figures/reconciler.js';
import type { ValidationResult } from './figures/validation.js';
import type { WebhookResult } from './figures/webhooks.js';
import { totalRequests } from './dynamo.js';
import { bytes, count, ms, rate, ratio, seconds } from './stats.js';

export interface Results {
  create?: CreateResult[];
  validation?: ValidationResult[];
  webhooks?: WebhookResult;
  reconciler?: ReconcilerResult;
  coldStart?: ColdStartResult[];
  e2e?: EndToEndResult;
}

export function readResults(r: Results): string {
  const parts: string[] = [];
  const largest = r.create?.at(-1);
  const eip55 = r.validation?.[0];
  if (largest) {
    const validationShare =
      eip55 && eip55.recipients === largest.size
        ? `; validating its ${count(largest.size)} checksummed addresses is ${ms(eip55.validateMs)} of that`
        : '';
    parts.push(
      `Creating a payout of ${count(largest.size)} recipients takes ${seconds(largest.productMs)}, ${ratio(largest.ratio)} the floor of writing the same ${count(largest.items)} items straight to DynamoDB, in ${count(totalRequests(largest.requests))} requests (${count(largest.requests.BatchWriteItemCommand ?? 0)} of them BatchWriteItem): ${largest.ratio < 1.5 ? 'the create path costs little beyond the write it must make' : `the create path adds ${Math.round((largest.ratio - 1) * 100)} % to the write it must make`}${validationShare}.`,
    );
  }
  if (eip55 && r.validation?.[1]) {
    parts.push(
      `Validation runs at ${rate((eip55.recipients / eip55.validateMs) * 1000)} EIP-55 recipients a second (${ratio(eip55.ratio)} the time of JSON.parse of the body, ${ratio(eip55.validateMs / r.validation[1].validateMs)} the lowercase addresses: the keccak checksum is the cost)${largest ? `, ${eip55.validateMs < largest.productMs * 0.1 ? 'a small share' : 'a noticeable share'} of a create` : ''}.`,
    );
  }
  if (r.webhooks) {
    const w = r.webhooks;
    const perEvent = totalRequests(w.useCase.requests ?? {}) / w.events;
    parts.push(
      `Webhooks are stored first: the answer waits for one conditional PutItem, so an event is ingested in ${ratio(w.useCase.ratio)} the time of a raw PutItem in-process and ${ratio(w.http.ratio)} through the HTTP handler (${rate(w.useCase.perSecond)} and ${rate(w.http.perSecond)} a second); with the applies running elsewhere, as apply-webhook does on AWS, ${ratio(w.httpDeferred.ratio)} through HTTP (${rate(w.httpDeferred.perSecond)} a second), where the local HTTP hop alone with the one PutItem, the floor, is ${ratio(w.httpFloor.ratio)}: the handler's own share is ${ratio(w.httpDeferred.floorRatio ?? 0)} that floor, while applying it after the answer takes ${count(perEvent, 1)} DynamoDB requests an event in all.`,
    );
  }
  if (r.reconciler) {
    const c = r.reconciler;
    const sentences = [
      `The reconciler looked at ${count(c.looked)} open batches in ${seconds(c.tickMs)} with Calypso answering in ${c.latencyMs} ms, ${ratio(c.ratioToIdeal)} the ideal of ${seconds(c.idealMs)} (${c.callsPerBatch.toFixed(1)} Calypso calls a batch at concurrency ${c.concurrency})${c.stoppedEarly ? ', and a tick had to stop early to fit the function timeout' : ', within the function timeout'}; the excess is its own DynamoDB work, ${count(c.dynamoPerBatch, 1)} requests a batch (${seconds(c.noLatencyMs)} for the same tick with no Calypso latency).`,
    ];
    if (c.wide.itemsReadPerBatch > 2 * c.itemsReadPerBatch) {
      sentences.push(
        `Batches of one wide payout cost more: ${count(c.wide.itemsReadPerBatch, 0)} items read per batch for a payout of ${count(c.wide.batches)} batches against ${count(c.itemsReadPerBatch, 0)}.`,
      );
    } else {
      sentences.push(
        `A quiet look reads as much whatever the payout's width: ${count(c.wide.itemsReadPerBatch, 1)} items per batch for a payout of ${count(c.wide.batches)} batches against ${count(c.itemsReadPerBatch, 1)} (${ratio(c.wide.itemsReadPerBatch / c.itemsReadPerBatch)}).`,
      );
    }
    const extra = c.full.filter((f) => f.quietCallsPerBatch > 1 + Math.ceil(f.recipients / 100));
    if (extra.length) {
      sentences.push(
        `Full batches take one listing call more than their pages (${extra.map((f) => `${f.quietCallsPerBatch.toFixed(0)} calls for a ${f.label} batch of ${count(f.recipients)}`).join(', ')}): the last page is full, so an empty one is asked for.`,
      );
    } else if (c.full.length) {
      sentences.push(
        `Listing a full batch takes exactly the pages there are (${c.full.map((f) => `${count(f.quietCallsPerBatch - 1)} listing call(s) for a ${f.label} batch of ${count(f.recipients)}`).join(', ')}, one getMassPayout besides): the listing stops on totalElements.`,
      );
    }
    const serial = c.full.filter((f) => f.firstLookUpdatePeak <= f.batches && f.recipients >= 1000);
    for (const f of serial) {
      sentences.push(
        `A look that finds every withdrawal of a ${f.label} batch of ${count(f.recipients)} changed records them one request of 25 updates at a time (at most ${count(f.firstLookUpdatePeak)} in flight for ${count(f.batches)} batch${f.batches === 1 ? '' : 'es'}): ${seconds(f.firstLookMs)}.`,
      );
    }
    parts.push(sentences.join(' '));
  }
  const floors = (r.coldStart ?? []).filter((b) => b.floor);
  const functions = (r.coldStart ?? []).filter((b) => !b.floor);
  if (functions.length) {
    const sizes = functions.map((b) => b.size);
    const slowest = [...functions].sort((a, b) => b.ratio - a.ratio)[0]!;
    const mapsCost =
      functions.reduce((sum, b) => sum + b.withMapsMs / b.loadMs, 0) / functions.length;
    parts.push(
      `Bundles weigh ${bytes(Math.min(...sizes))} to ${bytes(Math.max(...sizes))} and load in ${ratio(Math.min(...functions.map((b) => b.ratio)))} to ${ratio(slowest.ratio)} the time of a bare \`node -e 0\` (${slowest.name} the slowest); enabling source maps as deployed multiplies load time by ${mapsCost.toFixed(2)} on average.`,
    );
    if (floors.length) {
      parts.push(
        `The floors, bundles of no function: ${floors.map((f) => `${f.name.replace('floor: ', '')} ${bytes(f.size)}, ${ratio(f.ratio)}`).join('; ')}: no function that reads the table loads faster than the DynamoDB client alone.`,
      );
    }
  }
  if (r.e2e) {
    const e = r.e2e;
    parts.push(
      `End to end, ${count(e.recipients)} payments show final to the caller ${seconds(e.finalMs)} after the request, ${ratio(e.ratio)} the sandbox's own ${seconds(e.lifecycleMs)} lifecycle at ${e.speed}×; ${seconds(e.finalMs - e.calypsoFinalMs)} of that pass between Calypso finishing and the payout showing final, the reconciler's tick coming every ${seconds(e.intervalMs)}${e.webhooksMs > e.finalMs ? `, and the ${count(e.webhooks)} webhooks are all ingested only after ${seconds(e.webhooksMs)}` : ''}.`,
    );
  }
  return parts.length ? parts.join(' ') : 'No figure completed.';
}
