/**
 * SigV4 signing of API requests for the deployed API (API Gateway with IAM authorization):
 * service `execute-api`, the region from the API's host name (or AWS_REGION), credentials from
 * the standard AWS chain (environment, SSO, web identity, shared files, container/instance roles).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { RequestSigner } from './api.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Options {
  region: string;
  /** Default `execute-api`. */
  service?: string;
  /** Default: the standard credential chain. */
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
  /** The signing time; default now. */
  now?: () => Date;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 (or HMAC-SHA-256 when given a secret) from node:crypto, in the shape the signer expects. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.hash =
      secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

/** A signer adding `authorization`, `x-amz-date` (and `x-amz-security-token`) to each request. */
export function createSigV4Signer(options: SigV4Options): RequestSigner {
  const credentials = options.credentials ?? defaultProvider();
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials: typeof credentials === 'function' ? () => credentials() : credentials,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  return async ({ method, url, headers, body }) => {
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const existing = query[name];
      query[name] =
        existing === undefined
          ? value
          : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    const signed = await signer
      .sign(
        {
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname,
          query,
          headers: { ...headers, host: url.host },
          ...(body !== undefined ? { body } : {}),
        },
        options.now ? { signingDate: options.now() } : {},
      )
      .catch((err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(
          `could not sign the request to ${url.origin} with AWS credentials: ${reason}`,
          { cause: err },
        );
      });
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      // fetch sets Host itself (to the same value that was signed).
      if (name.toLowerCase() !== 'host') out[name] = value;
    }
    return out;
  };
}

const EXECUTE_API_HOST =
  /^[a-z0-9-]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;

/** The region of an `*.execute-api.<region>.amazonaws.com` host; undefined for other hosts. */
export function regionFromHost(hostname: string): string | undefined {
  return EXECUTE_API_HOST.exec(hostname.toLowerCase())?.[1];
}

/**
 * The signer for an API URL: none for plain http (the local stack), SigV4 for https. The region
 * comes from the host name, else AWS_REGION / AWS_DEFAULT_REGION.
 */
export function signerForUrl(
  apiUrl: URL,
  env: Record<string, string | undefined>,
  credentials?: SigV4Options['credentials'],
): RequestSigner | undefined {
  if (apiUrl.protocol !== 'https:') return undefined;
  const region = regionFromHost(apiUrl.hostname) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) {
    throw new Error(
      `cannot tell the AWS region of ${apiUrl.origin} for SigV4 signing; set AWS_REGION (or use the execute-api URL)`,
    );
  }
  return createSigV4Signer({ region, ...(credentials ? { credentials } : {}) });
}
