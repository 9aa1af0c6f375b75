import type { AlertDelivery, RunAlert } from "../api/types";
import { formatDateTime } from "../ui/format";
import { MAX_ALERTS } from "./runLive";
import { SeverityBadge } from "./RunStatusBadge";

/** How an alert's sending to the webhooks went: "2 delivered, 1 failed", or null when there are none. */
export function deliverySummary(deliveries: AlertDelivery[] | undefined): string | null {
  if (!deliveries || deliveries.length === 0) return null;
  const count = (status: AlertDelivery["status"]) => deliveries.filter((d) => d.status === status).length;
  const parts = [
    [count("delivered"), "delivered"],
    [count("pending"), "being sent"],
    [count("failed"), "failed"],
  ].flatMap(([n, what]) => (n ? [`${n} ${what}`] : []));
  return `webhooks: ${parts.join(", ")}`;
}

/** Alerts raised by the pipeline's `sink.alert` nodes, newest first, as they arrive. */
export function RunAlerts({ alerts }: { alerts: RunAlert[] }) {
  if (alerts.length === 0) return <p className="muted" data-testid="run-alerts-empty">No alerts.</p>;
  const newestFirst = [...alerts].reverse();
  return (
    <>
      {alerts.length >= MAX_ALERTS && <p className="muted small">The newest {MAX_ALERTS} alerts.</p>}
      <ul className="alerts" data-testid="run-alerts">
        {newestFirst.map((alert) => {
          const delivery = deliverySummary(alert.deliveries);
          return (
            <li
              key={alert.seq ?? `${alert.at}|${alert.node}|${alert.message}`}
              className={`alert alert-${alert.severity}`}
              data-testid="run-alert"
              data-severity={alert.severity}
            >
              <SeverityBadge severity={alert.severity} />
              <span className="alert-message">{alert.message}</span>
              <span className="muted small">
                {alert.node} · {formatDateTime(alert.at)}
                {delivery && ` · ${delivery}`}
              </span>
            </li>
          );
        })}
      </ul>
    </>
  );
}
