import type { BrokerStatus, HubStatus } from "../protocol/control.js";

/** The primary's bus and broker, as Prometheus text: appended to the workers' metrics. Pure. */
export function renderBusMetrics(hub: HubStatus, broker: BrokerStatus | undefined): string {
  const rows: [string, "gauge" | "counter", string, number][] = [
    ["wsfleet_bus_workers_connected", "gauge", "Workers connected to the embedded bus.", hub.workers],
    ["wsfleet_bus_forwarded_total", "counter", "Publishes the bus took from workers.", hub.forwarded],
    ["wsfleet_bus_topics", "gauge", "Distinct topics some worker serves.", hub.topics],
    ["wsfleet_bus_sent_total", "counter", "Copies of publishes sent to workers serving their topic.", hub.sent],
    ["wsfleet_bus_skipped_total", "counter", "Copies not sent: the worker does not serve the topic.", hub.skipped],
    ["wsfleet_bus_dropped_total", "counter", "Publishes a worker missed: it had 64 MiB unread.", hub.dropped],
  ];
  const { history } = hub;
  if (history) {
    rows.push(
      ["wsfleet_history_topics", "gauge", "Topics with a history kept (--history).", history.topics],
      ["wsfleet_history_messages", "gauge", "Messages kept in the history, over every topic.", history.messages],
      ["wsfleet_history_bytes", "gauge", "Payload bytes kept in the history.", history.bytes],
      ["wsfleet_history_sequenced_total", "counter", "Publishes given an offset.", history.sequenced],
      [
        "wsfleet_history_recovered_total",
        "counter",
        "Recoveries answered with every message asked for.",
        history.recovered,
      ],
      [
        "wsfleet_history_not_recovered_total",
        "counter",
        "Recoveries refused: the client must resync.",
        history.notRecovered,
      ],
      ["wsfleet_history_expired_total", "counter", "Topics dropped by --history-ttl.", history.expired],
    );
    if (history.sequencedLocally !== undefined) {
      rows.push(
        [
          "wsfleet_history_sequenced_locally_total",
          "counter",
          "Publishes sequenced here while Redis was away.",
          history.sequencedLocally,
        ],
        [
          "wsfleet_history_lost_on_pubsub_total",
          "counter",
          "Messages missing from the broker's live stream that Redis no longer had.",
          history.lostOnPubSub ?? 0,
        ],
        [
          "wsfleet_history_filled_total",
          "counter",
          "Messages missed on pub/sub, read from Redis.",
          history.filledFromStore ?? 0,
        ],
      );
    }
  }
  if (broker) {
    const { published, received, dropped, lost, errors, reconnects } = broker;
    rows.push(
      ["wsfleet_broker_up", "gauge", "1 while the broker is connected.", broker.state === "connected" ? 1 : 0],
      ["wsfleet_broker_subscriptions", "gauge", "Topic channels subscribed on the broker.", broker.subscriptions],
      ["wsfleet_broker_published_total", "counter", "Publishes sent to the broker.", published],
      ["wsfleet_broker_received_total", "counter", "Publishes of other fleets received.", received],
      ["wsfleet_broker_dropped_total", "counter", "Publishes lost while the broker was away.", dropped],
      ["wsfleet_broker_lost_total", "counter", "Publishes of other fleets missed (gaps in their numbering).", lost],
      ["wsfleet_broker_errors_total", "counter", "Errors of the broker connections.", errors],
      ["wsfleet_broker_reconnects_total", "counter", "Reconnections to the broker.", reconnects],
    );
  }
  return rows
    .map(([name, type, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`)
    .join("");
}
