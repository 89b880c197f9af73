/**
 * Secrets out of every log line and error text: passwords in URLs (parsed:
 * the userinfo runs to the last '@' of the authority, so a password with ':',
 * '/' or '@' is hidden whole), `key=value` / `"key": "value"` pairs whose key
 * names a password, secret or token, Keystone (Fernet) tokens, and the exact
 * secrets the configuration holds (as written, JSON-escaped and
 * percent-encoded).
 */
const MASK = '***';

/** `scheme://user:password@host…` → `scheme://user:***@host…`; `?password=x` → `?password=***`. Text that is not a URL is returned as is. */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^]*)$/i.exec(url);
  if (!m) return url;
  const [, scheme, rest] = m as unknown as [string, string, string];
  const at = rest.lastIndexOf('@');
  let out = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    out = `${colon >= 0 ? `${userinfo.slice(0, colon)}:${MASK}` : userinfo}${rest.slice(at)}`;
  }
  return scheme + out.replace(/([?&][\w-]*(?:password|passwd|secret|token)[\w-]*=)[^&#]*/gi, `$1${MASK}`);
}

/** URLs with a userinfo anywhere in a text (the password may hold ':' '/' '@'; it ends at the last '@' before a blank or quote). */
const URL_WITH_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'@/:]+):([^\s"']*)@/gi;
/** `password=…`, `"password":"…"`, `X-Auth-Token: …`, `application_credential_secret = …` (also inside JSON-escaped text). */
const SECRET_PAIR = /([\w-]*(?:password|passwd|secret|token)[\w-]*)(\\?["']?\s*[:=]\s*\\?["']?)([^\s"'\\&,;}]+)/gi;
/** Keystone Fernet tokens (and JWS-like blobs Keystone hands out) by their shape. */
const FERNET = /\bgAAAAA[A-Za-z0-9_-]{20,}={0,2}/g;

export class Redactor {
  readonly #secrets: string[];

  constructor(secrets: Iterable<string> = []) {
    const forms = new Set<string>();
    for (const s of secrets) {
      if (s.length < 4) continue; // too short to hide without mangling unrelated text
      forms.add(s);
      forms.add(JSON.stringify(s).slice(1, -1));
      forms.add(encodeURIComponent(s));
    }
    // longest first, so that a secret containing another is hidden whole
    this.#secrets = [...forms].sort((a, b) => b.length - a.length);
  }

  text(input: string): string {
    let out = input;
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join(MASK);
    out = out.replace(URL_WITH_USERINFO, `$1$2:${MASK}@`);
    out = out.replace(SECRET_PAIR, (whole, key: string, sep: string, value: string) => (value === MASK || /^\d+$/.test(value) ? whole : `${key}${sep}${MASK}`));
    return out.replace(FERNET, MASK);
  }
}

/** The values of options that hold secrets (password, secret, token …) in a configuration section. */
export function secretValues(section: Readonly<Record<string, string>>): string[] {
  return Object.entries(section)
    .filter(([k]) => /password|passwd|secret|token/i.test(k))
    .map(([, v]) => v)
    .filter((v) => v !== '');
}

/** The password of a URL's userinfo (to add to a Redactor's secrets), if any. */
export function urlPassword(url: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^]*)$/i.exec(url);
  const rest = m?.[1] ?? '';
  const at = rest.lastIndexOf('@');
  if (at < 0) return undefined;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return colon >= 0 && colon < userinfo.length - 1 ? userinfo.slice(colon + 1) : undefined;
}
