import { BootstrapTokenAuthenticator, serviceAccountFromUsername } from '../../../control-plane/ca/authn';

const ctx = { certificateTtlMs: 3600_000 };
const id = { namespace: 'shop', serviceAccount: 'cart' };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('BootstrapTokenAuthenticator', () => {
  test('a token proves its identity once; reuse is refused', async () => {
    const a = new BootstrapTokenAuthenticator();
    const t = a.mint(id);
    const first = await a.authenticate(t, ctx);
    expect(first.identity).toEqual(id);
    expect(await codeOf(a.authenticate(t, ctx))).toBe('WEFT_ERR_CA_UNAUTHENTICATED');
  });

  test('an unknown token is refused; an expired one says so', async () => {
    let now = 1_000_000;
    const a = new BootstrapTokenAuthenticator({ ttlMs: 60_000, now: () => now });
    expect(await codeOf(a.authenticate('wbt_nope', ctx))).toBe('WEFT_ERR_CA_UNAUTHENTICATED');
    const t = a.mint(id);
    now += 60_001;
    expect(await codeOf(a.authenticate(t, ctx))).toBe('WEFT_ERR_CA_TOKEN_EXPIRED');
    expect(await codeOf(a.authenticate(t, ctx))).toBe('WEFT_ERR_CA_UNAUTHENTICATED');
  });

  test('each use hands out a one-time renewal token for the same identity, valid for a certificate lifetime', async () => {
    let now = 0;
    const a = new BootstrapTokenAuthenticator({ ttlMs: 60_000, now: () => now });
    const first = await a.authenticate(a.mint(id), ctx);
    expect(first.nextCredential).toMatch(/^wbt_/);
    now += 3600_000; // a full certificate lifetime later: still within lifetime + bootstrap ttl
    const second = await a.authenticate(first.nextCredential!, ctx);
    expect(second.identity).toEqual(id);
    expect(await codeOf(a.authenticate(first.nextCredential!, ctx))).toBe('WEFT_ERR_CA_UNAUTHENTICATED');
    expect(a.outstanding).toBe(1);
  });

  test('minting refuses names that are not DNS labels', () => {
    const a = new BootstrapTokenAuthenticator();
    expect(() => a.mint({ namespace: 'Bad_NS', serviceAccount: 'x' })).toThrow(expect.objectContaining({ code: 'WEFT_ERR_CA_NOT_A_WORKLOAD' }));
  });
});

test('serviceAccountFromUsername takes only system:serviceaccount:<ns>:<sa>', () => {
  expect(serviceAccountFromUsername('system:serviceaccount:shop:cart')).toEqual(id);
  expect(serviceAccountFromUsername('system:node:worker-1')).toBeUndefined();
  expect(serviceAccountFromUsername('system:serviceaccount:shop:cart:extra')).toBeUndefined();
  expect(serviceAccountFromUsername('alice')).toBeUndefined();
  expect(serviceAccountFromUsername(undefined)).toBeUndefined();
});
