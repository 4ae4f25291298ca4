/**
 * The committed OpenAPI document: current (regenerated from the routes and schemas, it is the
 * same text), valid OpenAPI 3.1 by a standard validator, and complete: every route, every error
 * as problem+json, the gateway's own answers on every route.
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  buildOpenApiDocument,
  OPENAPI_FILE,
  openApiText,
  packageVersion,
} from '../../infra/openapi.js';
import { ROUTES, type Route } from '../../infra/routes.js';
import type { DryRunView as CreatedDryRun } from '../../shared/payouts/create-payout.js';
import type { DryRunView } from '../../shared/payouts/schemas.js';

type Json = Record<string, any>;
const committed = readFileSync(OPENAPI_FILE, 'utf8');
const doc = JSON.parse(committed) as Json;
const operation = (route: Route): Json => doc.paths[route.path][route.method.toLowerCase()];

describe('openapi.json', () => {
  it('is what `npm run openapi` writes today (regenerate it after changing a route or schema)', () => {
    expect(committed).toBe(openApiText(packageVersion()));
  });

  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('fails validation when broken (the validator is live)', async () => {
    const broken = structuredClone(doc);
    broken.paths['/payouts'].post.parameters[0].in = 'body'; // OpenAPI 2 only
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('describes every route, and nothing else', () => {
    const described = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods as Json).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(described.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('answers every error as application/problem+json of the Problem schema', () => {
    for (const route of ROUTES) {
      for (const [status, response] of Object.entries(operation(route).responses as Json)) {
        const content = Object.keys(response.content);
        if (Number(status) >= 400) {
          expect(content, `${route.method} ${route.path} ${status}`).toEqual([
            'application/problem+json',
          ]);
          expect(response.content['application/problem+json'].schema).toEqual({
            $ref: '#/components/schemas/Problem',
          });
        } else {
          expect(content).toEqual(['application/json']);
        }
      }
    }
  });

  it("lists the gateway's own refusals on every route, and the body's on every route with one", () => {
    for (const route of ROUTES) {
      const statuses = Object.keys(operation(route).responses).map(Number);
      const name = `${route.method} ${route.path}`;
      expect(statuses, name).toEqual(expect.arrayContaining([403, 429, 500]));
      expect(
        statuses.some((s) => s >= 200 && s < 300),
        name,
      ).toBe(true);
      if (route.contract.body)
        expect(statuses, name).toEqual(expect.arrayContaining([400, 413, 415]));
      if (route.path.includes('{id}')) expect(statuses, name).toContain(404);
    }
  });

  it('asks for the Idempotency-Key header on POST /payouts and the signature on the webhook', () => {
    const create = operation(ROUTES.find((r) => r.handler === 'create-payout')!);
    expect(create.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }),
    );
    expect(create.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/PayoutRequest',
    });
    const webhook = operation(ROUTES.find((r) => r.auth === 'none')!);
    expect(webhook.security).toEqual([]);
    expect(webhook.parameters.map((p: Json) => p.name)).toEqual(
      expect.arrayContaining(['Key', 'Sign']),
    );
  });

  it('generates the schemas from zod: a field of the view is a field of the document', () => {
    const payout = buildOpenApiDocument({ version: 'x' }).components as Json;
    expect(payout.schemas.Payout.required).toEqual(
      expect.arrayContaining(['id', 'state', 'total', 'batches', 'withdrawalCounts']),
    );
    expect(payout.schemas.Payout.properties.state.enum).toContain('COMPLETED_WITH_FAILURES');
    expect(payout.schemas.PayoutRequest.additionalProperties).toBe(false);
    expect(payout.schemas.Payout.properties.batches.items).toEqual({
      $ref: '#/components/schemas/Batch',
    });
  });

  it("keeps create-payout's dry run within its schema", () => {
    expectTypeOf<CreatedDryRun>().toExtend<DryRunView>();
  });
});
