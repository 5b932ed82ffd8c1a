/** Bad input for the CA's hand-written DER reader: mutated and truncated CSRs are refused with a code, never crash or sign. */
import fc from 'fast-check';
import { CertificateAuthority } from '../../../control-plane/ca/authority';
import { derToPem, pemToDer } from '../../../control-plane/ca/der';
import { generateRoot } from '../../../control-plane/ca/pki';
import { generateKeyAndCsr } from '../../../proxy/identity/csr';

const ID = { namespace: 'shop', serviceAccount: 'cart' };

test('every mutation of a signed CSR is refused with a CA code (the signature covers what matters)', async () => {
  const root = await generateRoot({ trustDomain: 'shop.local' });
  const ca = await CertificateAuthority.create({ trustDomain: 'shop.local', material: { tlsCrt: root.certPem, tlsKey: root.keyPem } });
  const { csrPem } = await generateKeyAndCsr('spiffe://shop.local/ns/shop/sa/cart');
  const der = pemToDer(csrPem, ['CERTIFICATE REQUEST']);
  await expect(ca.issue(csrPem, ID)).resolves.toBeDefined();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(der.length - 1), xor: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ kind: fc.constant('cut' as const), at: fc.nat(der.length - 1), xor: fc.constant(0) }),
      ),
      async ({ kind, at, xor }) => {
        const bad = Buffer.from(der);
        if (kind === 'flip') bad[at] ^= xor;
        const input = derToPem(kind === 'cut' ? bad.subarray(0, at) : bad, 'CERTIFICATE REQUEST');
        const code = await ca.issue(input, ID).then(() => 'issued', (e) => e.code);
        expect(['WEFT_ERR_CA_BAD_CSR', 'WEFT_ERR_CA_BAD_KEY', 'WEFT_ERR_CA_IDENTITY_MISMATCH']).toContain(code);
      },
    ),
    { numRuns: 300, seed: 7 },
  );
  for (const junk of ['', '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----', 'x'.repeat(5000)]) {
    await expect(ca.issue(junk, ID)).rejects.toMatchObject({ code: 'WEFT_ERR_CA_BAD_CSR' });
  }
});
