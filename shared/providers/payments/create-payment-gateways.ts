import { CLOUDPAYMENTS_GATEWAY, createCloudPaymentsGateway } from "./cloudpayments-gateway.ts";
import type { PaymentGateway } from "./payment-gateway.ts";
import { createSandboxGateway, SANDBOX_GATEWAY } from "./sandbox-gateway.ts";

/** The part of the configuration the gateways need (a structural subset of `Config`). */
export interface PaymentGatewaysConfig {
  env: "development" | "test" | "production";
  publicUrl: string;
  /** The sandbox gateway's signing secret (PAYMENT_WEBHOOK_SECRET). */
  paymentWebhookSecret: string;
  /** PAYMENT_GATEWAY: where new card payments go; unset → cloudpayments when configured, else sandbox. */
  paymentGateway?: "sandbox" | "cloudpayments" | undefined;
  /** CLOUDPAYMENTS_PUBLIC_ID, CLOUDPAYMENTS_API_SECRET, CLOUDPAYMENTS_API_URL. */
  cloudpayments?: { publicId: string; apiSecret: string; apiBaseUrl?: string | undefined } | undefined;
}

export interface PaymentGateways {
  /** By name, as in /api/v1/webhooks/payments/{gateway}. */
  gateways: Record<string, PaymentGateway>;
  /** Where new card payments go; undefined in production without a configured card gateway (503). */
  defaultGateway: string | undefined;
  /**
   * Whether the sandbox checkout page (/sandbox/pay/{id}) is served. It signs notifications on the
   * visitor's behalf, i.e. credits money for free: never in production unless PAYMENT_GATEWAY=sandbox.
   */
  sandboxCheckout: boolean;
}

/**
 * The gateways this server accepts notifications from (PRODUCT.md "The sandbox gateway never runs in
 * production unless PAYMENT_GATEWAY=sandbox is set explicitly"):
 * - `sandbox` outside production, or with an explicit PAYMENT_GATEWAY=sandbox (e.g. a staging system);
 *   with it comes its self-signing checkout page. In production otherwise it does not exist at all: no
 *   checkout page, no webhook, no new payments through it.
 * - `cloudpayments` when its credentials are configured.
 * New payments go through PAYMENT_GATEWAY, else CloudPayments when configured, else the sandbox where it
 * runs; in production with neither there is no default and card top-ups answer 503
 * PAYMENT_GATEWAY_UNAVAILABLE. Payments already started keep being confirmed by their own gateway after
 * PAYMENT_GATEWAY changes.
 */
export function createPaymentGateways(config: PaymentGatewaysConfig): PaymentGateways {
  const sandboxRuns = config.env !== "production" || config.paymentGateway === SANDBOX_GATEWAY;
  const gateways: Record<string, PaymentGateway> = sandboxRuns
    ? {
        [SANDBOX_GATEWAY]: createSandboxGateway({
          secret: config.paymentWebhookSecret,
          publicUrl: config.publicUrl,
        }),
      }
    : {};
  if (config.cloudpayments) {
    gateways[CLOUDPAYMENTS_GATEWAY] = createCloudPaymentsGateway({
      publicId: config.cloudpayments.publicId,
      apiSecret: config.cloudpayments.apiSecret,
      ...(config.cloudpayments.apiBaseUrl ? { apiBaseUrl: config.cloudpayments.apiBaseUrl } : {}),
    });
  }
  if (config.paymentGateway && !gateways[config.paymentGateway]) {
    throw new Error(
      `PAYMENT_GATEWAY=${config.paymentGateway} needs CLOUDPAYMENTS_PUBLIC_ID and CLOUDPAYMENTS_API_SECRET.`,
    );
  }
  return {
    gateways,
    defaultGateway:
      config.paymentGateway ??
      (config.cloudpayments ? CLOUDPAYMENTS_GATEWAY : sandboxRuns ? SANDBOX_GATEWAY : undefined),
    sandboxCheckout: sandboxRuns,
  };
}
