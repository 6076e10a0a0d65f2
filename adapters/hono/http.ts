/**
 * The HTTP rules of `cacheRoute`, as pure functions over web-standard `Headers`: what the
 * origin's `Cache-Control` allows, which response headers are stored, entity tags and
 * `If-None-Match`, and the cache key. No runtime APIs beyond `crypto.subtle`.
 * @module
 */

/** The `Cache-Control` directives a shared cache acts on. Durations are in ms. */
export interface Directives {
  noStore: boolean
  noCache: boolean
  private: boolean
  /** `must-revalidate` or `proxy-revalidate`: never serve it stale. */
  mustRevalidate: boolean
  maxAge: number | undefined
  sMaxAge: number | undefined
  staleWhileRevalidate: number | undefined
}

/**
 * Parses a `Cache-Control` header (RFC 9111 §5.2). Quoted arguments may hold commas
 * (`no-cache="set-cookie, x-a"`). A malformed `max-age`/`s-maxage` counts as 0 (stale), as the
 * RFC asks; a malformed `stale-while-revalidate` is ignored.
 */
export function parseCacheControl(value: string | null): Directives {
  const out: Directives = {
    noStore: false, noCache: false, private: false, mustRevalidate: false,
    maxAge: undefined, sMaxAge: undefined, staleWhileRevalidate: undefined,
  }
  if (value === null || value === '') return out
  let i = 0
  const n = value.length
  while (i < n) {
    while (i < n && (value[i] === ',' || value[i] === ' ' || value[i] === '\t')) i++
    const start = i
    while (i < n && value[i] !== '=' && value[i] !== ',') i++
    const name = value.slice(start, i).trim().toLowerCase()
    let arg: string | undefined
    if (value[i] === '=') {
      i++
      if (value[i] === '"') {
        const end = value.indexOf('"', i + 1)
        arg = value.slice(i + 1, end === -1 ? n : end)
        i = end === -1 ? n : end + 1
        while (i < n && value[i] !== ',') i++
      } else {
        const argStart = i
        while (i < n && value[i] !== ',') i++
        arg = value.slice(argStart, i).trim()
      }
    }
    switch (name) {
      case 'no-store': out.noStore = true; break
      case 'no-cache': out.noCache = true; break
      case 'private': out.private = true; break
      case 'must-revalidate':
      case 'proxy-revalidate': out.mustRevalidate = true; break
      case 'max-age': out.maxAge = seconds(arg) ?? 0; break
      case 's-maxage': out.sMaxAge = seconds(arg) ?? 0; break
      case 'stale-while-revalidate': out.staleWhileRevalidate = seconds(arg); break
    }
  }
  return out
}

function seconds(arg: string | undefined): number | undefined {
  if (arg === undefined || !/^\d+$/.test(arg)) return undefined
  return Math.min(Number(arg), 2 ** 31) * 1000
}

/** Whether a request asks to skip stored responses (`Cache-Control: no-cache` or `max-age=0`, `Pragma: no-cache`). */
export function requestWantsFresh(headers: Headers): boolean {
  const cc = headers.get('cache-control')
  if (cc !== null) {
    const d = parseCacheControl(cc)
    return d.noCache || d.maxAge === 0
  }
  return /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(headers.get('pragma') ?? '')
}

/**
 * Headers never stored with an entry: connection-specific ones (RFC 9110 §7.6.1), and the ones
 * the middleware writes itself per response (`age`, `x-cache`, `server-timing`,
 * `content-length`, which the server derives from the stored bytes).
 */
const NOT_STORED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer',
  'proxy-authenticate', 'proxy-authorization', 'age', 'x-cache', 'server-timing', 'content-length',
])

/**
 * The response headers to store, lower-case names; multi-valued ones are joined by `, ` (as
 * `Headers` does). `upstream`: headers earlier middleware set on the request, left out when the
 * response still has them as set (they set them again on every request).
 */
export function storedHeaders(headers: Headers, upstream: readonly (readonly [string, string])[] = []): Record<string, string> {
  const out: Record<string, string> = {}
  const dropped = connectionTokens(headers.get('connection'))
  const theirs = new Map(upstream)
  headers.forEach((value, name) => {
    if (!NOT_STORED.has(name) && !dropped.has(name) && theirs.get(name) !== value) out[name] = value
  })
  return out
}

function connectionTokens(value: string | null): Set<string> {
  const out = new Set<string>()
  if (value !== null) for (const token of value.split(',')) out.add(token.trim().toLowerCase())
  return out
}

/** The header names of a `Vary` list, lower-cased; `['*']` for `Vary: *`. */
export function varyNames(value: string | null): string[] {
  if (value === null) return []
  const names: string[] = []
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase()
    if (name !== '') names.push(name)
  }
  return names
}

/** Headers kept on a 304 (RFC 9110 §15.4.5). */
const KEPT_ON_304 = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary'] as const

/** The stored headers a 304 repeats. */
export function headersFor304(stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of KEPT_ON_304) {
    const value = stored[name]
    if (value !== undefined) out[name] = value
  }
  return out
}

/**
 * Whether `If-None-Match` matches the stored entity tag, by weak comparison (RFC 9110 §13.1.2):
 * `*` matches any; `W/"x"` and `"x"` match each other.
 */
export function etagMatches(ifNoneMatch: string, etag: string | undefined): boolean {
  if (etag === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  const wanted = opaque(etag)
  let i = 0
  while (i < ifNoneMatch.length) {
    const open = ifNoneMatch.indexOf('"', i)
    if (open === -1) return false
    const close = ifNoneMatch.indexOf('"', open + 1)
    if (close === -1) return false
    if (ifNoneMatch.slice(open, close + 1) === wanted) return true
    i = close + 1
  }
  return false
}

function opaque(etag: string): string {
  return etag.startsWith('W/') ? etag.slice(2) : etag
}

const encoder = new TextEncoder()

/** Base64url (no padding) of some bytes. */
export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** SHA-256 of bytes or text, base64url. */
export async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)))
}

/** A strong entity tag of a body: `"<sha-256, base64url>"`. */
export async function strongEtag(body: Uint8Array | null): Promise<string> {
  return `"${await sha256(body ?? new Uint8Array(0))}"`
}

/**
 * The method-independent part of the key: host, path, and the query with its parameters sorted
 * (their encoding kept as sent), from an absolute URL string. No `URL` parse on the hot path.
 * @example urlKey('http://a.example/p?b=2&a=1') // 'a.example/p?a=1&b=2'
 */
export function urlKey(url: string): string {
  const scheme = url.indexOf('://')
  const hostStart = scheme === -1 ? 0 : scheme + 3
  let pathStart = hostStart
  while (pathStart < url.length && url[pathStart] !== '/' && url[pathStart] !== '?' && url[pathStart] !== '#') pathStart++
  const q = url.indexOf('?', pathStart)
  const hash = url.indexOf('#', pathStart)
  // the common case, on the hot path: a path, no query, a lower-case host — the rest of the URL as it is
  if (q === -1 && hash === -1 && pathStart < url.length && !hasUpperCase(url, hostStart, pathStart)) return url.slice(hostStart)
  const host = url.slice(hostStart, pathStart).toLowerCase()
  const end = hash === -1 ? url.length : hash
  if (q === -1 || q > end) return host + (pathStart === end ? '/' : url.slice(pathStart, end))
  const path = q === pathStart ? '/' : url.slice(pathStart, q)
  const query = url.slice(q + 1, end)
  if (query === '') return host + path
  if (query.indexOf('&') === -1) return `${host}${path}?${query}`
  const params = query.split('&').filter((p) => p !== '')
  params.sort()
  return `${host}${path}?${params.join('&')}`
}

function hasUpperCase(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i)
    if (code >= 65 && code <= 90) return true
  }
  return false
}

/**
 * The keyed part of the request headers: `name=value` per `vary` name (sorted), URI-encoded so
 * the encoding is injective; an absent header is its bare name, an empty one `name=`.
 */
export function varyKey(headers: Headers, vary: readonly string[]): string {
  let out = ''
  for (const name of vary) {
    const value = headers.get(name)
    out += value === null ? `|${name}` : `|${name}=${encodeURIComponent(value)}`
  }
  return out
}

/** Content types stored as text (smaller in L2 than base64 bytes) when their bytes are valid UTF-8. */
export function isTextual(contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const type = contentType.toLowerCase()
  return type.startsWith('text/') || /[/+](?:json|xml)\b/.test(type) || type.includes('javascript') || type.includes('x-www-form-urlencoded')
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** The body as text when it is valid UTF-8 (decoding it back gives the same bytes), else undefined. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}
