// A small JSON reader for the hook input. It reads standard JSON (any member
// order, unknown members skipped, escapes and surrogate pairs decoded) and
// refuses anything else: the input comes from the host, so malformed input
// is a fault the plugin must not guess around. It allocates only for the
// strings it keeps: member names are compared in place, and skipped values
// are only checked (allocations, not the scanning, are what costs here).

/** The parts of the redirect input this plugin looks at. */
export class RedirectInput {
  url: string = "";
  method: string = "";
  fallbackUrl: string = "";
  config: string = "";
}

/** Nesting deeper than this is refused instead of exhausting the stack. */
const MAX_DEPTH: i32 = 64;

/**
 * Reads the JSON text of `len` bytes at `ptr`. On malformed input it sets
 * `error` and the caller must not use the result.
 */
export class Reader {
  private pos: usize;
  private end: usize;
  private failed: bool = false;
  error: string = "";
  // The last string scanned: its bytes between the quotes, and whether it
  // holds escapes (so it must be decoded rather than read as is).
  private spanStart: usize = 0;
  private spanEnd: usize = 0;
  private spanEscaped: bool = false;

  constructor(ptr: usize, len: usize) {
    this.pos = ptr;
    this.end = ptr + len;
  }

  /** Reads a whole redirect input; check `error` afterwards. */
  redirectInput(): RedirectInput {
    const out = new RedirectInput();
    this.object(0, (r: Reader, depth: i32, out: RedirectInput): void => {
      if (r.nameIs("config")) {
        out.config = r.stringValue("config");
      } else if (r.nameIs("request")) {
        r.object(depth, (r: Reader, depth: i32, out: RedirectInput): void => {
          if (r.nameIs("url")) out.url = r.stringValue("request.url");
          else if (r.nameIs("method")) out.method = r.stringValue("request.method");
          else if (r.nameIs("fallback_url")) out.fallbackUrl = r.stringValue("request.fallback_url");
          else r.skip(depth);
        }, out);
      } else {
        r.skip(depth);
      }
    }, out);
    this.space();
    if (!this.failed && this.pos != this.end) this.fail("text after the input object");
    return out;
  }

  private fail(what: string): void {
    if (!this.failed) this.error = what;
    this.failed = true;
    this.pos = this.end; // stop every loop
  }

  private peek(): i32 {
    return this.pos < this.end ? <i32>load<u8>(this.pos) : -1;
  }

  private space(): void {
    while (this.pos < this.end) {
      const c = load<u8>(this.pos);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
      this.pos++;
    }
  }

  private expect(c: i32, what: string): bool {
    this.space();
    if (this.peek() != c) {
      this.fail("expected " + what);
      return false;
    }
    this.pos++;
    return true;
  }

  /**
   * Reads an object, calling member for each member with the reader placed
   * on its value and the member's name as the last scanned string.
   */
  object(depth: i32, member: (r: Reader, depth: i32, out: RedirectInput) => void, out: RedirectInput): void {
    if (depth >= MAX_DEPTH) {
      this.fail("input nested too deeply");
      return;
    }
    if (!this.expect(0x7b, "an object")) return; // {
    this.space();
    if (this.peek() == 0x7d) { // }
      this.pos++;
      return;
    }
    while (!this.failed) {
      this.space();
      if (this.peek() != 0x22 || !this.scanString()) {
        this.fail("expected a member name");
        return;
      }
      if (!this.expect(0x3a, "':'")) return;
      member(this, depth + 1, out);
      this.space();
      const c = this.peek();
      this.pos++;
      if (c == 0x7d) return; // }
      if (c != 0x2c) this.fail("expected ',' or '}'"); // ,
    }
  }

  /** nameIs reports whether the last scanned string equals the ASCII name. */
  nameIs(name: string): bool {
    if (this.spanEscaped) return this.decodeSpan() == name;
    const n = <usize>name.length;
    if (this.spanEnd - this.spanStart != n) return false;
    for (let i: usize = 0; i < n; i++) {
      if (<i32>load<u8>(this.spanStart + i) != name.charCodeAt(<i32>i)) return false;
    }
    return true;
  }

  /** Reads a string value; what names it in the error. */
  stringValue(what: string): string {
    this.space();
    if (this.peek() != 0x22) {
      this.fail(what + " is not a string");
      return "";
    }
    if (!this.scanString()) return "";
    return this.decodeSpan();
  }

  /**
   * scanString checks the string at pos (which is on its opening quote),
   * records its span, and moves past it.
   */
  private scanString(): bool {
    this.pos++;
    this.spanStart = this.pos;
    this.spanEscaped = false;
    while (this.pos < this.end) {
      const c = load<u8>(this.pos);
      if (c == 0x22) {
        this.spanEnd = this.pos;
        this.pos++;
        return true;
      }
      if (c < 0x20) {
        this.fail("control character in a string");
        return false;
      }
      this.pos++;
      if (c != 0x5c) continue; // not a backslash
      this.spanEscaped = true;
      const e = this.peek();
      this.pos++;
      if (e == 0x75) { // \uXXXX
        for (let i = 0; i < 4; i++) {
          if (hexDigit(this.peek()) < 0) {
            this.fail("bad \\u escape");
            return false;
          }
          this.pos++;
        }
      } else if (e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74) {
        this.fail("bad escape in a string");
        return false;
      }
    }
    this.fail("unterminated string");
    return false;
  }

  /** decodeSpan returns the last scanned string, escapes decoded. */
  private decodeSpan(): string {
    if (!this.spanEscaped) return String.UTF8.decodeUnsafe(this.spanStart, this.spanEnd - this.spanStart);
    let s = "";
    let start = this.spanStart;
    let p = start;
    while (p < this.spanEnd) {
      if (load<u8>(p) != 0x5c) {
        p++;
        continue;
      }
      s += String.UTF8.decodeUnsafe(start, p - start);
      const e = load<u8>(p + 1);
      p += 2;
      if (e == 0x62) s += "\b";
      else if (e == 0x66) s += "\f";
      else if (e == 0x6e) s += "\n";
      else if (e == 0x72) s += "\r";
      else if (e == 0x74) s += "\t";
      else if (e == 0x75) { // one UTF-16 code unit, which is what an AssemblyScript string holds
        let unit: i32 = 0;
        for (let i = 0; i < 4; i++) unit = unit << 4 | hexDigit(<i32>load<u8>(p + i));
        s += String.fromCharCode(unit);
        p += 4;
      } else s += String.fromCharCode(e); // " \ /
      start = p;
    }
    return s + String.UTF8.decodeUnsafe(start, p - start);
  }

  /** Reads and discards any value. */
  skip(depth: i32): void {
    if (depth >= MAX_DEPTH) {
      this.fail("input nested too deeply");
      return;
    }
    this.space();
    const c = this.peek();
    if (c == 0x22) {
      this.scanString();
    } else if (c == 0x7b) {
      // The skipping callback never touches out, so none is allocated.
      this.object(depth, (r: Reader, depth: i32, out: RedirectInput): void => { r.skip(depth); }, changetype<RedirectInput>(0));
    } else if (c == 0x5b) { // [
      this.pos++;
      this.space();
      if (this.peek() == 0x5d) {
        this.pos++;
        return;
      }
      while (!this.failed) {
        this.skip(depth + 1);
        this.space();
        const d = this.peek();
        this.pos++;
        if (d == 0x5d) return; // ]
        if (d != 0x2c) this.fail("expected ',' or ']'");
      }
    } else if (c == 0x74) {
      this.word("true");
    } else if (c == 0x66) {
      this.word("false");
    } else if (c == 0x6e) {
      this.word("null");
    } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number();
    } else {
      this.fail("expected a value");
    }
  }

  private word(w: string): void {
    for (let i = 0; i < w.length; i++) {
      if (this.peek() != w.charCodeAt(i)) {
        this.fail("expected " + w);
        return;
      }
      this.pos++;
    }
  }

  // number checks the JSON number grammar: -?int(.digits)?([eE][+-]?digits)?
  private number(): void {
    if (this.peek() == 0x2d) this.pos++;
    if (this.peek() == 0x30) {
      this.pos++;
    } else if (!this.digits()) {
      return;
    }
    if (this.peek() == 0x2e) {
      this.pos++;
      if (!this.digits()) return;
    }
    const e = this.peek();
    if (e == 0x65 || e == 0x45) {
      this.pos++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.pos++;
      this.digits();
    }
  }

  private digits(): bool {
    const start = this.pos;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    if (this.pos == start) {
      this.fail("bad number");
      return false;
    }
    return true;
  }
}

/** hexDigit returns the value of an ASCII hex digit, or -1. */
function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}
