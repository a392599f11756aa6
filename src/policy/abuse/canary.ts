/**
 * The abuse canary: a name under .test (RFC 6761: it never exists) that every roje with an abuse list in
 * force blocks in the abuse category, like a listed domain. Certifiers and `roje verify` query it to test
 * the abuse path end to end without touching a real entry; it is public by design.
 */
export const ABUSE_CANARY = 'canary-domain.abuse.roje.test';
