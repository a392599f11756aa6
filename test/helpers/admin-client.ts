/**
 * The one admin-API client of the tests: a base address and a bearer token; get, post and delete answer
 * with the status, the headers, the body as text and the body parsed as JSON. It never throws on an HTTP
 * status: the tests assert on it.
 */
import { type Dispatcher, request } from 'undici';

/** A running roje whose admin address is read at each call (a restarted instance may have moved). */
export interface HasAdmin {
  app: { opsAddresses(): { admin: string | null } };
}

/** "http://host:port", "host:port", or a roje to ask. */
export type AdminTarget = string | HasAdmin;

export interface AdminResponse {
  status: number;
  headers: Dispatcher.ResponseData['headers'];
  /** The content-type header, or "undefined" when there is none. */
  type: string;
  text: string;
  /** The body parsed as JSON; {} when it is not JSON (an HTML page, metrics, an empty body). */
  json: Record<string, unknown>;
}

export interface AdminRequestOptions {
  /** This call's token instead of the client's; null sends no authorization header. */
  token?: string | null;
  /** A string is sent as it is, anything else as JSON; undefined sends no body. */
  body?: unknown;
  /** The body's content-type (default application/json). */
  type?: string;
}

export interface AdminClient {
  request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options?: AdminRequestOptions,
  ): Promise<AdminResponse>;
  get(path: string, options?: Omit<AdminRequestOptions, 'body'>): Promise<AdminResponse>;
  /** POST with a JSON body, `{}` unless given (the admin API's POST routes expect one). */
  post(path: string, body?: unknown, options?: Omit<AdminRequestOptions, 'body'>): Promise<AdminResponse>;
  delete(path: string, options?: Omit<AdminRequestOptions, 'body'>): Promise<AdminResponse>;
}

function baseUrl(target: AdminTarget): string {
  const address = typeof target === 'string' ? target : target.app.opsAddresses().admin;
  if (address === null) throw new Error('this roje has no admin listener');
  return address.startsWith('http://') ? address : `http://${address}`;
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A client of the admin API at `target`, sending `token` (null: none) unless a call says otherwise. */
export function adminClient(target: AdminTarget, token: string | null): AdminClient {
  const call: AdminClient['request'] = async (method, path, options = {}) => {
    const bearer = options.token === undefined ? token : options.token;
    const headers: Record<string, string> = {};
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = options.type ?? 'application/json';
    }
    const res = await request(`${baseUrl(target)}${path}`, { method, headers, body });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      type: String(res.headers['content-type']),
      text,
      json: parseJson(text),
    };
  };
  return {
    request: call,
    get: (path, options) => call('GET', path, options),
    post: (path, body = {}, options) => call('POST', path, { ...options, body }),
    delete: (path, options) => call('DELETE', path, options),
  };
}
