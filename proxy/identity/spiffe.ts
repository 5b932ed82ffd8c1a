/** Reading the SPIFFE ID out of a certificate: an X.509-SVID carries exactly one URI SAN. */

/**
 * The SPIFFE ID of a certificate given its subjectAltName string as Node prints it
 * (`URI:spiffe://td/ns/a/sa/b, DNS:x`). Undefined unless there is exactly one URI SAN and it is a
 * `spiffe://` URI.
 */
export function spiffeIdOfCert(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined;
  const uris: string[] = [];
  // Node JSON-quotes values holding separators; a quoted URI SAN is never a valid SPIFFE ID.
  for (const part of subjectAltName.split(', ')) if (part.startsWith('URI:')) uris.push(part.slice(4));
  if (uris.length !== 1) return undefined;
  return /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)+$/.test(uris[0]) ? uris[0] : undefined;
}
