/** The proxy's workload identity as the TLS code sees it: PEMs that can change on rotation. */

/** One certificate generation. */
export interface IdentityMaterial {
  /** Leaf certificate (then any intermediates), PEM. */
  readonly certChainPem: string;
  readonly keyPem: string;
  /** Every trusted root, PEM concatenated (several during a root rotation). */
  readonly trustBundlePem: string;
  readonly spiffeId: string;
  readonly notAfter: Date;
}

/** Source of the current identity (static files, or the CA client that renews). */
export interface IdentityProvider {
  /** The current material, or undefined before the first certificate arrives. */
  current(): IdentityMaterial | undefined;
  /** Called after every change (first issue, renewal, trust-bundle change). Returns an unsubscribe function. */
  onChange(listener: (m: IdentityMaterial) => void): () => void;
}
