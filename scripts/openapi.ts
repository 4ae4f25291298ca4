/**
 * `npm run openapi`: writes openapi.json, the API's OpenAPI 3.1 document, from the route list and
 * the zod schemas. A test fails while the committed file differs from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { OPENAPI_FILE, openApiText, packageVersion } from '../infra/openapi.js';

writeFileSync(OPENAPI_FILE, openApiText(packageVersion()));
console.log('wrote openapi.json');
