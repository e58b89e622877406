import type { HttpRequest, HttpResponse } from "uWebSockets.js";

const decoder = new TextDecoder();

/**
 * The client's address. This uWebSockets.js build (v20.51.0) parses a PROXY protocol v2 header when one opens the
 * connection, so behind HAProxy's `send-proxy-v2` the real client shows here. Else X-Forwarded-For's first entry
 * if the proxy is trusted, else the socket's peer.
 */
export function clientAddress(res: HttpResponse, req: HttpRequest, trustProxy: boolean): string {
  const proxied = decoder.decode(res.getProxiedRemoteAddressAsText());
  if (proxied) return proxied;
  if (trustProxy) {
    const forwarded = req.getHeader("x-forwarded-for");
    const first = forwarded.split(",")[0]?.trim();
    if (first) return first;
  }
  return decoder.decode(res.getRemoteAddressAsText());
}
