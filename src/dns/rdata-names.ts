/**
 * Where the names that may be compressed sit inside RDATA: what code that moves records between
 * messages (the response preparer, the SafeSearch CNAME splice) must re-point.
 */
/**
 * Offsets within RDATA of names that may be compressed (RFC 3597 §4 lists the types whose names
 * receivers must be ready to decompress). Other types never carry pointers.
 */
export function rdataNames(buf: Buffer, type: number, rdata: number, rdEnd: number): number {
  switch (type) {
    case 2: // NS
    case 3: // MD
    case 4: // MF
    case 5: // CNAME
    case 7: // MB
    case 8: // MG
    case 9: // MR
    case 12: // PTR
    case 39: // DNAME
      return rdata;
    case 6: // SOA
    case 14: // MINFO
    case 17: // RP
      return rdata;
    case 15: // MX
    case 18: // AFSDB
    case 21: // RT
    case 26: // PX
    case 36: // KX
      return rdata + 2;
    case 33: // SRV
      return rdata + 6;
    case 35: {
      // NAPTR: order, preference, then flags, services, regexp as character-strings.
      let p = rdata + 4;
      for (let k = 0; k < 3 && p < rdEnd; k++) p += 1 + buf[p];
      return p;
    }
    default:
      return -1;
  }
}

/** How many names follow one another from rdataNames() (SOA, MINFO, RP, PX: two). */
export function namesIn(type: number): number {
  return type === 6 || type === 14 || type === 17 || type === 26 ? 2 : 1;
}
