/**
 * What the fleet asks of a load balancer in front of it (HAProxy), by server name: the fleet owns this interface and
 * a balancer implements it without knowing the fleet. Each call resolves once the balancer has done it.
 */
export interface LoadBalancer {
  /** No new connections to this server; its open ones stay until the worker closes them. */
  drain(serverName: string): Promise<void>;
  /** The replacement is RUNNING: the balancer sends it connections again once it sees it healthy. */
  admit(serverName: string): Promise<void>;
  /** A new worker (scale up) joins; `servers` is the count with it. */
  add(server: { readonly name: string; readonly port: number }, servers: number): Promise<void>;
  /** A worker removed (scale down), already stopped, leaves; `servers` is the count without it. */
  remove(serverName: string, servers: number): Promise<void>;
}
