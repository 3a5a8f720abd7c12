-- Where each worker serves /metrics, /healthz and /readyz (http://host:port), shown by `jobq workers`;
-- NULL when it serves none (JOBQ_METRICS_PORT=0, or the default port was taken by another daemon on the host).
ALTER TABLE workers ADD COLUMN metrics_url text;
