/**
 * nginx as a WebSocket reverse proxy (nginx.org/en/docs/http/websocket.html) in front of N servers on consecutive
 * ports (pure): the cheapest common alternative to HAProxy, with the same balancing (least connections).
 */
export function renderNginxConfig({ dir, frontendPort, basePort, workers, processes }) {
  const servers = Array.from({ length: workers }, (_, i) => `        server 127.0.0.1:${basePort + i};`);
  return [
    "daemon off;",
    `worker_processes ${processes};`,
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/nginx-error.log warn;`,
    // 20,000 is this machine's hard `ulimit -n`; a proxied connection takes two.
    "worker_rlimit_nofile 20000;",
    "events {",
    "    worker_connections 20000;",
    "}",
    "http {",
    "    access_log off;",
    `    client_body_temp_path ${dir}/client_body;`,
    `    proxy_temp_path ${dir}/proxy;`,
    `    fastcgi_temp_path ${dir}/fastcgi;`,
    `    uwsgi_temp_path ${dir}/uwsgi;`,
    `    scgi_temp_path ${dir}/scgi;`,
    "    upstream websocket {",
    "        least_conn;",
    ...servers,
    "    }",
    "    server {",
    `        listen 127.0.0.1:${frontendPort};`,
    "        location / {",
    "            proxy_pass http://websocket;",
    "            proxy_http_version 1.1;",
    "            proxy_set_header Upgrade $http_upgrade;",
    '            proxy_set_header Connection "upgrade";',
    "            proxy_set_header Host $host;",
    "            proxy_read_timeout 30s;",
    "        }",
    "    }",
    "}",
    "",
  ].join("\n");
}
