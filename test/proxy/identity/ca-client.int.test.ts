/** The proxy's CA client against a real CA server, with time moved by hand: renewal at 70 %, retry keeping the cert, fail closed at expiry. */
import { startCaServer } from '../../../control-plane/ca/service';
import type { IdentityMaterial } from '../../../proxy/identity/types';
import { ManualClock, idOf, proxyIdentity, startCa } from './harness';

const HOUR = 3600_000;

test('renews at 70 % of the lifetime, keeps the certificate while the CA is down, fails closed at expiry, recovers', async () => {
  const clock = new ManualClock();
  const env = await startCa({ ttlMs: HOUR, now: clock.now });
  const errors: string[] = [];
  let errorSeen: () => void = () => undefined;
  const p = proxyIdentity(env, 'shop', 'cart', { clock, minRetryMs: 1000, maxRetryMs: 4000, requestTimeoutMs: 1000, onError: (e) => { errors.push(e.code); errorSeen(); } });
  const changes: IdentityMaterial[] = [];
  let changed: () => void = () => undefined;
  p.onChange((m) => { changes.push(m); changed(); });
  let expired = 0;
  p.onExpired(() => expired++);
  const nextChange = () => new Promise<void>((r) => (changed = r));
  const nextError = () => new Promise<void>((r) => (errorSeen = r));
  try {
    const first = await p.start();
    expect(first.spiffeId).toBe(idOf('shop', 'cart'));
    const lifetime = first.notAfter.getTime() - clock.now();
    expect(p.secondsToExpiry()).toBeCloseTo(lifetime / 1000, 0);
    clock.advance(lifetime * 0.69);
    expect(clock.pending()).toBe(2); // renewal + expiry timers, nothing fired
    expect(env.ca.issued).toBe(1);
    const renewed = nextChange();
    clock.advance(lifetime * 0.02);
    await renewed;
    expect(env.ca.issued).toBe(2);
    expect(p.current()).toBe(changes[1]);

    // The CA goes away: the renewal fails, the current certificate stays in use.
    const port = env.server.port;
    await env.server.close();
    const current = p.current()!;
    const left = current.notAfter.getTime() - clock.now();
    const failed = nextError();
    clock.advance(left * 0.7 + 1);
    await failed;
    expect(errors).toEqual(['WEFT_ERR_CA_UNAVAILABLE']);
    expect(p.current()).toBe(current);
    expect(p.stats()).toMatchObject({ failures: 1, lastErrorCode: 'WEFT_ERR_CA_UNAVAILABLE' });

    // Past notAfter without a renewal: no identity any more (mTLS fails closed) and an alert.
    const again = nextError();
    clock.advance(current.notAfter.getTime() - clock.now());
    expect(expired).toBe(1);
    expect(p.current()).toBeUndefined();
    expect(p.secondsToExpiry()).toBeUndefined();
    await again;

    // The CA is back on its address: the next retry gets a certificate again.
    const back = await startCaServer(env.ca, { authenticator: env.tokens, port });
    try {
      // The channel reconnects on its own backoff (real time); each failed try schedules the next on our clock.
      let recovered = false;
      const done = nextChange().then(() => (recovered = true));
      for (let i = 0; i < 20 && !recovered; i++) {
        const tried = Promise.race([done, nextError()]);
        clock.advance(4000);
        await tried;
      }
      expect(recovered).toBe(true);
      expect(errors.slice(0, 2)).toEqual(['WEFT_ERR_CA_UNAVAILABLE', 'WEFT_ERR_CA_UNAVAILABLE']);
      expect(errors.every((c) => c === 'WEFT_ERR_CA_UNAVAILABLE')).toBe(true);
      expect(p.current()?.spiffeId).toBe(idOf('shop', 'cart'));
      expect(p.stats().issued).toBe(3);
    } finally {
      await back.close();
    }
  } finally {
    p.close();
    await env.server.close();
  }
});

test('a CA answer for a foreign trust domain is refused and the proxy stays without identity', async () => {
  const env = await startCa();
  const p = proxyIdentity(env, 'shop', 'cart', { trustDomain: 'other.local' });
  try {
    await expect(p.renewNow()).rejects.toMatchObject({ code: 'WEFT_ERR_IDENTITY_BAD_CA_RESPONSE' });
    expect(p.current()).toBeUndefined();
  } finally {
    p.close();
    await env.server.close();
  }
});
