// httpsonly: a Patchbay policy plugin for the redirect hook, written in
// AssemblyScript against the language-neutral ABI of sdk/README.md (version 1).
// It denies a redirect whose Url or FallbackUrl is not https; with Config
// "upgrade" it rewrites an http Url to https instead.

import { Reader, RedirectInput } from "./json";

// WASI's fd_write: the host copies what a guest writes to stderr into the
// switch log, tagged with the plugin and the call.
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, written: usize): u16;

const STDERR: u32 = 2;

/** The ABI version this module speaks. */
const ABI_VERSION: i32 = 1;
/** The ABI's bound on a hook's input. */
const MAX_INPUT_BYTES: u32 = 64 << 10;

// The instance's buffers. Holding them in globals keeps the garbage
// collector off them: the input until the hook has read it, the output
// until the host has copied it (the ABI says: until the next call).
let input = new ArrayBuffer(0);
let output = new ArrayBuffer(0);

export function patchbay_abi_version(): i32 {
  return ABI_VERSION;
}

export function patchbay_alloc(size: u32): u32 {
  if (size > MAX_INPUT_BYTES) return 0;
  input = new ArrayBuffer(<i32>size);
  return <u32>changetype<usize>(input);
}

export function patchbay_hooks(): u64 {
  return emit("redirect");
}

export function patchbay_hook_redirect(ptr: u32, len: u32): u64 {
  // Reading only the buffer patchbay_alloc handed out keeps a wrong host
  // pointer from making the plugin read memory it does not own.
  if (<usize>ptr != changetype<usize>(input) || len > <u32>input.byteLength) {
    fail("hook called with a buffer patchbay_alloc did not return");
  }
  const r = new Reader(<usize>ptr, <usize>len);
  const req = r.redirectInput();
  if (r.error != "") fail("malformed redirect input: " + r.error);
  return emit(decide(req));
}

/** decide returns the decision for req as a JSON object. */
function decide(req: RedirectInput): string {
  const upgrade = req.config == "upgrade";
  if (!upgrade && req.config != "") {
    return deny("httpsonly: Config " + req.config + " is not understood (want empty or upgrade)");
  }
  if (req.fallbackUrl != "" && !isHTTPS(req.fallbackUrl)) {
    return deny("FallbackUrl " + req.fallbackUrl + " is not an https URL");
  }
  if (isHTTPS(req.url)) return "{\"verdict\":\"allow\"}";
  // A URL with white space or control characters is no valid rewrite
  // target (the host would refuse the output), so it is denied instead.
  if (upgrade && hasScheme(req.url, "http://") && printable(req.url)) {
    return "{\"verdict\":\"rewrite\",\"url\":" + quote("https://" + req.url.substring(7)) + "}";
  }
  return deny("Url " + req.url + " is not an https URL");
}

function deny(reason: string): string {
  return "{\"verdict\":\"deny\",\"reason\":" + quote(reason) + "}";
}

/** isHTTPS reports whether url is https:// followed by a host. */
function isHTTPS(url: string): bool {
  return hasScheme(url, "https://");
}

/**
 * hasScheme reports whether url starts with scheme (lower-case, with "://"),
 * in any case, followed by a non-empty host.
 */
function hasScheme(url: string, scheme: string): bool {
  if (url.length <= scheme.length) return false;
  if (url.substring(0, scheme.length).toLowerCase() != scheme) return false;
  const c = url.charCodeAt(scheme.length);
  return c != 0x2f && c != 0x3f && c != 0x23 && c != 0x40; // not / ? # @
}

/** printable reports whether s has no white space or control characters. */
function printable(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

/**
 * quote writes s as a JSON string. Everything outside printable ASCII is
 * escaped, so the output is ASCII whatever the input held (a lone surrogate
 * included, which UTF-8 could not carry).
 */
function quote(s: string): string {
  let out = "\"";
  let start = 0; // the run of characters that need no escape, copied at once
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c != 0x22 && c != 0x5c) continue;
    out += s.substring(start, i);
    if (c == 0x22) out += "\\\"";
    else if (c == 0x5c) out += "\\\\";
    else out += "\\u" + c.toString(16).padStart(4, "0");
    start = i + 1;
  }
  return out + s.substring(start) + "\"";
}

/** emit keeps s as the output and returns it packed as ptr << 32 | len. */
function emit(s: string): u64 {
  output = String.UTF8.encode(s);
  return (<u64>changetype<usize>(output) << 32) | <u64>output.byteLength;
}

/** fail writes why to stderr and traps; the plugin's fail mode then decides. */
function fail(why: string): void {
  const line = String.UTF8.encode("httpsonly: " + why + "\n");
  const iov = new StaticArray<usize>(2);
  iov[0] = changetype<usize>(line);
  iov[1] = <usize>line.byteLength;
  const written = new StaticArray<usize>(1);
  fd_write(STDERR, changetype<usize>(iov), 1, changetype<usize>(written));
  unreachable();
}

/**
 * abortPlugin replaces the runtime's abort (which would import env.abort,
 * an import the host refuses): assertion failures and out-of-memory trap
 * after saying why on stderr.
 */
function abortPlugin(message: string | null, fileName: string | null, line: u32, column: u32): void {
  fail("abort: " + (message !== null ? message : "") + " at " + (fileName !== null ? fileName : "") + ":" + line.toString() + ":" + column.toString());
}
