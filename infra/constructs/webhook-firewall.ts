/**
 * WAF in front of the API stage, for Calypso's webhook route: the only route without IAM, so the
 * one anybody can flood. Calypso blocks a subscription after more than 100 failed deliveries in
 * 10 minutes without a success; a flood that uses up the route's throttle would make Calypso's
 * own deliveries fail. A per-source rate rule keeps any one source well under the throttle, and
 * an optional allow-list refuses every source but Calypso's. Other routes pass untouched.
 */
import { CfnIPSet, CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { isIPv4Cidr } from '../settings.js';

export interface WebhookFirewallProps {
  /** Names the ACL and its metrics: `calypso-payouts-<stage>`. */
  serviceName: string;
  /** The API stage to protect (`arn:…:apigateway:…::/restapis/<id>/stages/<stage>`). */
  stageArn: string;
  /** The webhook route's path, e.g. `/webhooks/calypso` (WAF sees it after the stage name). */
  webhookPath: string;
  /** Requests per source IP per 5 minutes to the webhook path before that source is blocked. */
  rateLimit: number;
  /** When not empty, webhook requests from any other source are blocked. */
  allowedCidrs: readonly string[];
}

/** The rules' names, which are also their CloudWatch metric names (dimension `Rule`). */
export const WEBHOOK_RULES = {
  notAllowed: 'WebhookSourceNotAllowed',
  rate: 'WebhookRatePerSource',
} as const;

export class WebhookFirewall extends Construct {
  readonly acl: CfnWebACL;
  /** The ACL's name, the `WebACL` dimension of its metrics. */
  readonly aclName: string;

  constructor(scope: Construct, id: string, props: WebhookFirewallProps) {
    super(scope, id);
    this.aclName = `${props.serviceName}-api`;
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    const onWebhookPath: CfnWebACL.StatementProperty = {
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'CONTAINS',
        searchString: props.webhookPath.toLowerCase(),
        textTransformations: [{ priority: 0, type: 'LOWERCASE' }],
      },
    };

    const rules: CfnWebACL.RuleProperty[] = [];
    const allowed = this.allowedSources(props.allowedCidrs);
    if (allowed.length > 0) {
      const fromAllowed: CfnWebACL.StatementProperty =
        allowed.length === 1 ? allowed[0]! : { orStatement: { statements: allowed } };
      rules.push({
        name: WEBHOOK_RULES.notAllowed,
        priority: 0,
        action: { block: {} },
        statement: {
          andStatement: {
            statements: [onWebhookPath, { notStatement: { statement: fromAllowed } }],
          },
        },
        visibilityConfig: visibility(WEBHOOK_RULES.notAllowed),
      });
    }
    rules.push({
      name: WEBHOOK_RULES.rate,
      priority: 1,
      action: { block: {} },
      statement: {
        rateBasedStatement: {
          limit: props.rateLimit,
          aggregateKeyType: 'IP',
          scopeDownStatement: onWebhookPath,
        },
      },
      visibilityConfig: visibility(WEBHOOK_RULES.rate),
    });

    this.acl = new CfnWebACL(this, 'Acl', {
      name: this.aclName,
      description: `Guards the Calypso webhook of ${props.serviceName}: per-source rate, optional allow-list`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      rules,
      visibilityConfig: visibility(this.aclName),
    });
    new CfnWebACLAssociation(this, 'OnStage', {
      resourceArn: props.stageArn,
      webAclArn: this.acl.attrArn,
    });
  }

  /** One IP set per address family (WAF's sets hold one), as statements matching the source. */
  private allowedSources(cidrs: readonly string[]): CfnWebACL.StatementProperty[] {
    const families = [
      ['IPV4', cidrs.filter(isIPv4Cidr)],
      ['IPV6', cidrs.filter((c) => !isIPv4Cidr(c))],
    ] as const;
    return families
      .filter(([, addresses]) => addresses.length > 0)
      .map(([family, addresses]) => {
        const set = new CfnIPSet(this, `Allowed${family}`, {
          description:
            'Sources allowed to call the Calypso webhook (CDK context webhookAllowedCidrs)',
          scope: 'REGIONAL',
          ipAddressVersion: family,
          addresses: [...addresses],
        });
        return { ipSetReferenceStatement: { arn: set.attrArn } };
      });
  }
}
