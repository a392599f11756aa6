/** Wire-format constants (RFC 1035, 6891, 8914). No imports: dns/ is a leaf. */

export const HEADER_SIZE = 12;
export const MAX_UDP_PLAIN = 512;
export const MAX_MESSAGE = 65535;
/** The default EDNS UDP payload size (DNS Flag Day 2020). */
export const DEFAULT_EDNS_UDP_SIZE = 1232;

// Header flag bits within the 16-bit flags word at offset 2.
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
export const OPCODE_MASK = 0x7800;
export const OPCODE_SHIFT = 11;
export const RCODE_MASK = 0x000f;

/** The DO bit within the OPT record's TTL field (RFC 3225). */
export const EDNS_FLAG_DO = 0x8000;

export const OPCODE = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

/** The mnemonics of RCODEs 0-10 (RFC 1035, RFC 2136), by value, as dig prints them. */
export const RCODE_MNEMONICS: readonly string[] = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];

export const QTYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  DNSKEY: 48,
  SVCB: 64,
  HTTPS: 65,
  AXFR: 252,
  IXFR: 251,
  ANY: 255,
} as const;

export const QCLASS = { IN: 1, CH: 3, ANY: 255 } as const;

/** EDNS option codes. */
export const EDNS_OPTION = { EDE: 15 } as const;

/** RFC 8914 Extended DNS Error info-codes that roje emits. */
export const EDE = {
  OTHER: 0,
  STALE_ANSWER: 3,
  FORGED_ANSWER: 4,
  PROHIBITED: 18,
  BLOCKED: 15,
  CENSORED: 16,
  FILTERED: 17,
  NOT_READY: 14,
  NOT_AUTHORITATIVE: 20,
  NO_REACHABLE_AUTHORITY: 22,
  NETWORK_ERROR: 23,
} as const;

/** One Extended DNS Error to attach to a response. */
export interface ExtendedError {
  code: number;
  /** Optional UTF-8 EXTRA-TEXT for people; never carries confidential data. */
  text?: string;
}
