/*
 * cload -B: the broadcast bench's client (bench/broadcast.js --client c). The Node client spends about 10 µs of CPU
 * per delivery reading 1,000 subscribers at 50,000 deliveries/s, more than the servers it measures, on the same 2
 * cores; this one reads them from one epoll loop with one read() per socket wake-up and no copy of a payload.
 *
 * It holds one target's session: `-n` subscribers spread over the `-s` endpoints in turn, one publisher on `-p`, and
 * (with `-W n`) first n publishes to one subscriber on each endpoint, so the servers' JavaScript is optimised before
 * any step. Every publish is `-m` bytes: its send time (µs of CLOCK_MONOTONIC, 15 digits) and filler; a subscriber
 * on the publisher's endpoint is "local", the others "remote". `-S`: socket.io (engine.io v4 over the websocket
 * transport: "40" to join, "3" for its ping "2", events as 42["p","…"], read at offset 8 of 42["m","…"]).
 * Frames to the server are masked with the zero key (RFC 6455 5.3 wants a fresh key per frame to protect
 * intermediaries; loopback has none). Pings are answered, so a session outlives any idle timeout.
 *
 * Once open it prints {"ready":<subscribers>} (or {"error":"…"} and exits 1), then takes commands on stdin:
 *   step <publishes/s> <warm-up ms> <measured ms>
 * reopens the subscribers (and publisher) the server dropped, publishing probes until each has heard one; publishes
 * at that rate; prints "measuring" on stderr when the measured window opens and "measured" when its drain ends, so
 * the caller samples the servers' CPU over the same span; then one JSON line on stdout: the publishes sent in the
 * window, the deliveries of those publishes, this process's CPU over the span, and the latencies (µs) of all, local
 * and remote subscribers as [value, count] buckets. End of input, or `quit`, ends it.
 *
 * Usage: cload -B -s host:port[,host:port…] -p host:port -u subscribe_path -U publish_path -n subscribers -m bytes
 *        [-W warm_publishes] [-S]
 */
#include "cload.h"
#include <poll.h>

#define MAX_ENDPOINTS 16
#define STAMP_DIGITS 15
#define CARRY_MAX (64 * 1024)
#define STEP_DRAIN_NS 1500000000LL
#define JOIN_TIMEOUT_NS 10000000000LL
#define PROBE_TRIES 100
#define PROBE_EVERY_NS 100000000LL
#define WARM_PER_MS 4
#define SOCKETIO_EVENT_OFFSET 8
#define OUT_FRAME_MAX 512

enum { ROLE_SUBSCRIBER, ROLE_PUBLISHER, ROLE_WARMER };

struct endpoint {
  char host[64];
  int port;
  struct sockaddr_storage addr;
  socklen_t addr_len;
};

struct peer {
  int fd, open, joined, heard, local, role;
  const struct endpoint *at;
  uint8_t *carry; /* the start of a frame that a read() cut, up to CARRY_MAX bytes */
  size_t carry_len;
};

static struct endpoint endpoints[MAX_ENDPOINTS], publish_at;
static int endpoint_count, subscriber_count = 1000, socketio;
static const char *subscribe_path = "/", *publish_path = "/";
static long message_bytes = 64, warm_publishes;
static struct peer *subscribers, publisher;
static uint8_t *read_buf;

static uint64_t all_us[MAGNITUDES][SUB_BUCKETS], local_us[MAGNITUDES][SUB_BUCKETS], remote_us[MAGNITUDES][SUB_BUCKETS];
static int window_open;
static int64_t window_start_us, window_end_us;
static uint64_t delivered, delivered_all, warm_received;

static int64_t now_us(void) { return now_ns() / 1000; }

static void bail(const char *what) {
  printf("{\"error\":\"");
  for (const char *s = what; *s; s++)
    if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20) putchar(*s);
  printf("\"}\n");
  fflush(stdout);
  exit(1);
}

static int parse_endpoint(const char *text, struct endpoint *e) {
  const char *colon = strrchr(text, ':');
  if (colon == NULL || colon - text >= (long)sizeof e->host) return -1;
  memcpy(e->host, text, (size_t)(colon - text));
  e->host[colon - text] = 0;
  e->port = atoi(colon + 1);
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
  if (e->port <= 0 || getaddrinfo(e->host, colon + 1, &hints, &res) != 0) return -1;
  memcpy(&e->addr, res->ai_addr, res->ai_addrlen);
  e->addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

/* Writes all of it, waiting for room if the socket has none (a few bytes a frame: it practically never waits). */
static int write_all(struct peer *p, const uint8_t *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(p->fd, data, len);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
      if (poll(&pfd, 1, 1000) <= 0) return -1;
      continue;
    }
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static void close_peer(struct peer *p) {
  if (!p->open) return;
  epoll_ctl(epfd, EPOLL_CTL_DEL, p->fd, NULL);
  close(p->fd);
  p->open = 0;
  p->carry_len = 0;
}

/* One frame to the server, masked with the zero key (so the payload goes as it is). */
static void send_frame(struct peer *p, int opcode, const void *payload, size_t len) {
  if (!p->open || len > OUT_FRAME_MAX - 8) return;
  uint8_t out[OUT_FRAME_MAX];
  size_t head = len < 126 ? 2 : 4;
  out[0] = (uint8_t)(0x80 | opcode);
  out[1] = (uint8_t)(0x80 | (len < 126 ? len : 126));
  if (len >= 126) {
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
  }
  memset(out + head, 0, 4);
  memcpy(out + head + 4, payload, len);
  if (write_all(p, out, head + 4 + len) < 0) close_peer(p);
}

static void send_text(struct peer *p, const char *text) { send_frame(p, 0x1, text, strlen(text)); }

/* One message stamped now from the publisher (socket.io: as the event "p"). */
static void publish(struct peer *p) {
  char body[OUT_FRAME_MAX];
  long fill = message_bytes - STAMP_DIGITS;
  if (fill < 0) fill = 0;
  if (fill > OUT_FRAME_MAX - 64) fill = OUT_FRAME_MAX - 64;
  int n = snprintf(body, sizeof body, socketio ? "42[\"p\",\"%0*lld" : "%0*lld", STAMP_DIGITS, (long long)now_us());
  memset(body + n, 'x', (size_t)fill);
  n += (int)fill;
  if (socketio) n += snprintf(body + n, sizeof body - (size_t)n, "\"]");
  send_frame(p, 0x1, body, (size_t)n);
}

static void on_data(struct peer *p, const uint8_t *payload, size_t len, int64_t at_us) {
  if (len < STAMP_DIGITS) return;
  p->heard = 1;
  if (p->role == ROLE_WARMER) warm_received += 1;
  if (p->role != ROLE_SUBSCRIBER) return;
  delivered_all += 1;
  if (!window_open) return;
  int64_t sent = 0;
  for (int i = 0; i < STAMP_DIGITS; i++) sent = sent * 10 + (payload[i] - '0');
  if (sent < window_start_us || sent >= window_end_us) return;
  delivered += 1;
  int64_t latency = at_us - sent < 1 ? 1 : at_us - sent;
  record_into(all_us, latency);
  record_into(p->local ? local_us : remote_us, latency);
}

static void on_message(struct peer *p, int opcode, const uint8_t *payload, size_t len, int64_t at_us) {
  if (opcode == 0x9) {
    send_frame(p, 0xA, payload, len);
    return;
  }
  if (opcode != 0x1 && opcode != 0x2) return;
  if (!socketio) {
    on_data(p, payload, len, at_us);
    return;
  }
  /* engine.io's open "0{…}": join the default namespace; its ack "40{…}": joined; "2": ping; "42[…]": an event */
  if (len >= 1 && payload[0] == '0') send_text(p, "40");
  else if (len >= 2 && payload[0] == '4' && payload[1] == '0') p->joined = 1;
  else if (len == 1 && payload[0] == '2') send_text(p, "3");
  else if (len > SOCKETIO_EVENT_OFFSET && payload[0] == '4' && payload[1] == '2')
    on_data(p, payload + SOCKETIO_EVENT_OFFSET, len - SOCKETIO_EVENT_OFFSET, at_us);
}

/* Every whole frame in data[0, len) to on_message; returns the bytes consumed (the rest is a cut frame). */
static size_t consume(struct peer *p, uint8_t *data, size_t len, int64_t at_us) {
  size_t off = 0;
  while (len - off >= 2 && p->open) {
    uint8_t *f = data + off;
    uint64_t length = f[1] & 0x7f;
    size_t head = length < 126 ? 2 : length == 126 ? 4 : 10;
    int masked = f[1] & 0x80;
    if (len - off < head + (masked ? 4 : 0)) break;
    if (length == 126) length = ((uint64_t)f[2] << 8) | f[3];
    if (head == 10) {
      length = 0;
      for (int i = 2; i < 10; i++) length = (length << 8) | f[i];
    }
    size_t whole = head + (masked ? 4 : 0) + length;
    if (len - off < whole) break;
    uint8_t *payload = f + head + (masked ? 4 : 0);
    if (masked) /* servers do not mask; unmask anyway so a bad server is read, not misread */
      for (uint64_t i = 0; i < length; i++) payload[i] ^= f[head + (i & 3)];
    on_message(p, f[0] & 0x0f, payload, (size_t)length, at_us);
    off += whole;
  }
  return off;
}

/* What the socket holds: after the cut frame of the last read, through consume(); closed on EOF or error. */
static void peer_readable(struct peer *p) {
  for (;;) {
    memcpy(read_buf, p->carry, p->carry_len);
    ssize_t r = read(p->fd, read_buf + p->carry_len, READ_BUFFER_BYTES - p->carry_len);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r <= 0) {
      close_peer(p);
      return;
    }
    size_t have = p->carry_len + (size_t)r;
    size_t used = consume(p, read_buf, have, now_us());
    if (!p->open) return;
    if (have - used > CARRY_MAX) {
      close_peer(p); /* a frame larger than this bench sends or expects */
      return;
    }
    memcpy(p->carry, read_buf + used, have - used);
    p->carry_len = have - used;
    if ((size_t)r < READ_BUFFER_BYTES - (have - (size_t)r)) return; /* a short read drained the socket */
  }
}

/* One epoll_wait of up to timeout_ms, and what it reported. */
static void service(int timeout_ms) {
  struct epoll_event events[256];
  int ready = epoll_wait(epfd, events, 256, timeout_ms);
  for (int i = 0; i < ready; i++) {
    struct peer *p = events[i].data.ptr;
    if (p->open) peer_readable(p);
  }
}

static void service_until(int64_t until_ns) {
  for (int64_t now = now_ns(); now < until_ns; now = now_ns()) service((int)((until_ns - now + 999999) / 1000000));
}

/* Blocking connect and opening handshake (10 s at most), then non-blocking in the epoll loop. */
static int open_peer(struct peer *p, const struct endpoint *at, const char *path, int role) {
  memset(p, 0, sizeof *p);
  p->at = at;
  p->role = role;
  p->local = at->port == publish_at.port && strcmp(at->host, publish_at.host) == 0;
  p->joined = !socketio;
  p->carry = malloc(CARRY_MAX);
  p->fd = socket(at->addr.ss_family, SOCK_STREAM, 0);
  struct timeval limit = {.tv_sec = JOIN_TIMEOUT_NS / 1000000000LL};
  setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  if (p->fd < 0 || connect(p->fd, (const struct sockaddr *)&at->addr, at->addr_len) < 0) {
    fail("connect");
    if (p->fd >= 0) close(p->fd);
    return -1;
  }
  int one = 1;
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  opt.host = at->host;
  opt.port = at->port;
  opt.path = path;
  char req[1024];
  int n = upgrade_request(req, sizeof req);
  size_t have = 0, head_bytes = 0;
  int answer = write(p->fd, req, (size_t)n) == n ? 0 : -1;
  while (answer == 0) {
    ssize_t r = read(p->fd, read_buf + have, HEAD_BYTES - have - 1);
    if (r <= 0) {
      snprintf(last_error, sizeof last_error, "closed during the handshake with %s:%d", at->host, at->port);
      answer = -1;
      break;
    }
    have += (size_t)r;
    answer = upgrade_answer((char *)read_buf, have, &head_bytes);
  }
  if (answer < 0) {
    close(p->fd);
    return -1;
  }
  fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK);
  p->open = 1;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
  epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev);
  size_t rest = have - head_bytes;
  memmove(read_buf, read_buf + head_bytes, rest);
  size_t used = consume(p, read_buf, rest, now_us());
  memcpy(p->carry, read_buf + used, rest - used);
  p->carry_len = rest - used;
  return 0;
}

static void open_or_bail(struct peer *p, const struct endpoint *at, const char *path, int role) {
  if (open_peer(p, at, path, role) == 0) return;
  char what[400];
  snprintf(what, sizeof what, "%.63s:%d%.100s: %.200s", at->host, at->port, path, last_error);
  bail(what);
}

/* Until each of the `count` peers is joined (socket.io's connect acknowledged) or 10 s pass. */
static void until_joined(struct peer **peers, int count) {
  int64_t deadline = now_ns() + JOIN_TIMEOUT_NS;
  for (int i = 0; i < count; i++)
    while (peers[i]->open && !peers[i]->joined) {
      if (now_ns() > deadline) bail("socket.io did not acknowledge the connect packet within 10 s");
      service(10);
    }
}

/* Probe publishes until every one of `fresh` has heard one (100 at most, 100 ms apart). */
static void until_heard(struct peer **fresh, int count) {
  for (int tries = 0; tries < PROBE_TRIES; tries++) {
    int deaf = 0;
    for (int i = 0; i < count; i++) deaf += fresh[i]->open && !fresh[i]->heard;
    if (deaf == 0) return;
    publish(&publisher);
    service_until(now_ns() + PROBE_EVERY_NS);
  }
}

/* WARM_PER_MS publishes a millisecond through one subscriber on each endpoint; fails when far fewer arrived. */
static void warm_up(void) {
  struct peer warmers[MAX_ENDPOINTS], warm_publisher;
  struct peer *joining[MAX_ENDPOINTS + 1];
  for (int i = 0; i < endpoint_count; i++) {
    open_or_bail(&warmers[i], &endpoints[i], subscribe_path, ROLE_WARMER);
    joining[i] = &warmers[i];
  }
  open_or_bail(&warm_publisher, &publish_at, publish_path, ROLE_PUBLISHER);
  joining[endpoint_count] = &warm_publisher;
  until_joined(joining, endpoint_count + 1);
  int64_t next = now_ns();
  for (long sent = 0; sent < warm_publishes; sent += WARM_PER_MS) {
    for (int i = 0; i < WARM_PER_MS; i++) publish(&warm_publisher);
    next += 1000000;
    service_until(next);
  }
  service_until(now_ns() + STEP_DRAIN_NS);
  for (int i = 0; i <= endpoint_count; i++) {
    close_peer(joining[i]);
    free(joining[i]->carry);
  }
  service_until(now_ns() + 300000000LL);
  uint64_t expected = (uint64_t)warm_publishes * (uint64_t)endpoint_count;
  if (warm_received < expected * 9 / 10) {
    char what[160];
    snprintf(what, sizeof what, "the warm-up delivered %llu of %llu", (unsigned long long)warm_received,
             (unsigned long long)expected);
    bail(what);
  }
}

/* Reopens the publisher and the subscribers the server dropped; returns how many subscribers. */
static int rejoin(void) {
  static struct peer **fresh;
  if (fresh == NULL) fresh = malloc(sizeof *fresh * (size_t)(subscriber_count + 1));
  int count = 0;
  if (!publisher.open) {
    free(publisher.carry);
    open_or_bail(&publisher, &publish_at, publish_path, ROLE_PUBLISHER);
    fresh[count++] = &publisher;
  }
  int reopened = 0;
  for (int i = 0; i < subscriber_count; i++)
    if (!subscribers[i].open) {
      free(subscribers[i].carry);
      open_or_bail(&subscribers[i], &endpoints[i % endpoint_count], subscribe_path, ROLE_SUBSCRIBER);
      fresh[count++] = &subscribers[i];
      reopened += 1;
    }
  until_joined(fresh, count);
  if (reopened == 0) return 0;
  until_heard(fresh + (count - reopened), reopened);
  service_until(now_ns() + STEP_DRAIN_NS);
  return reopened;
}

static void step(long rate, long warmup_ms, long duration_ms) {
  int rejoined = rejoin();
  int64_t interval = 1000000000LL / rate;
  int64_t now = now_ns(), next = now, measure_at = now + warmup_ms * 1000000LL, end_at = 0, drain_until = 0;
  int64_t cpu_start = 0, cpu_system_start = 0;
  uint64_t published = 0;
  int publishing = 1;
  for (;;) {
    now = now_ns();
    if (publishing && end_at == 0 && now >= measure_at) {
      memset(all_us, 0, sizeof all_us);
      memset(local_us, 0, sizeof local_us);
      memset(remote_us, 0, sizeof remote_us);
      delivered = 0;
      window_start_us = now / 1000;
      window_end_us = window_start_us + duration_ms * 1000;
      window_open = 1;
      end_at = now + duration_ms * 1000000LL;
      fprintf(stderr, "measuring\n");
      cpu_start = cpu_us(&cpu_system_start);
    }
    if (publishing && end_at != 0 && now >= end_at) {
      publishing = 0;
      drain_until = now + STEP_DRAIN_NS;
    }
    if (!publishing && now >= drain_until) break;
    for (; publishing && next <= now; next += interval) {
      publish(&publisher);
      if (window_open && now / 1000 < window_end_us) published += 1;
    }
    int64_t wake = publishing ? next : drain_until;
    service(wake > now ? (int)((wake - now + 999999) / 1000000) : 0);
  }
  window_open = 0;
  int64_t cpu_system = 0;
  int64_t cpu = cpu_us(&cpu_system) - cpu_start;
  fprintf(stderr, "measured\n");
  printf("{\"publishes\":%llu,\"delivered\":%llu,\"deliveredAll\":%llu,\"cpuUs\":%lld,\"cpuSystemUs\":%lld,"
         "\"rejoined\":%d,\"latencyUs\":",
         (unsigned long long)published, (unsigned long long)delivered, (unsigned long long)delivered_all,
         (long long)cpu, (long long)(cpu_system - cpu_system_start), rejoined);
  print_buckets(all_us);
  printf(",\"localUs\":");
  print_buckets(local_us);
  printf(",\"remoteUs\":");
  print_buckets(remote_us);
  printf("}\n");
  fflush(stdout);
}

/* One command line; 0 when it says to stop. */
static int command(const char *line) {
  long rate, warmup_ms, duration_ms;
  if (sscanf(line, "step %ld %ld %ld", &rate, &warmup_ms, &duration_ms) == 3 && rate > 0 && duration_ms > 0) {
    step(rate, warmup_ms, duration_ms);
    return 1;
  }
  if (strncmp(line, "quit", 4) == 0) return 0;
  fprintf(stderr, "cload -B: unknown command: %s\n", line);
  return 1;
}

int broadcast_main(int argc, char **argv) {
  int ch;
  char *list = NULL, *publish_text = NULL;
  while ((ch = getopt(argc, argv, "s:p:u:U:n:m:W:S")) != -1) {
    switch (ch) {
      case 's': list = optarg; break;
      case 'p': publish_text = optarg; break;
      case 'u': subscribe_path = optarg; break;
      case 'U': publish_path = optarg; break;
      case 'n': subscriber_count = atoi(optarg); break;
      case 'm': message_bytes = atol(optarg); break;
      case 'W': warm_publishes = atol(optarg); break;
      case 'S': socketio = 1; break;
      default:
        fprintf(stderr, "usage: cload -B -s host:port[,…] -p host:port -u path -U path -n subscribers -m bytes [-W n] [-S]\n");
        return 2;
    }
  }
  if (list == NULL || publish_text == NULL || subscriber_count <= 0 || message_bytes < STAMP_DIGITS ||
      message_bytes > OUT_FRAME_MAX - 64) {
    fprintf(stderr, "cload -B: -s, -p, -n ≥ 1 and -m of %d to %d bytes are needed\n", STAMP_DIGITS, OUT_FRAME_MAX - 64);
    return 2;
  }
  for (char *part = strtok(list, ","); part != NULL; part = strtok(NULL, ",")) {
    if (endpoint_count == MAX_ENDPOINTS || parse_endpoint(part, &endpoints[endpoint_count]) < 0) {
      fprintf(stderr, "cload -B: -s: cannot use %s (host:port, at most %d)\n", part, MAX_ENDPOINTS);
      return 2;
    }
    endpoint_count += 1;
  }
  if (parse_endpoint(publish_text, &publish_at) < 0) {
    fprintf(stderr, "cload -B: -p: cannot use %s (host:port)\n", publish_text);
    return 2;
  }
  raise_open_files();
  epfd = epoll_create1(0);
  read_buf = malloc(READ_BUFFER_BYTES);
  if (warm_publishes > 0) warm_up();
  subscribers = calloc((size_t)subscriber_count, sizeof *subscribers);
  struct peer **all = malloc(sizeof *all * (size_t)(subscriber_count + 1));
  for (int i = 0; i < subscriber_count; i++) {
    open_or_bail(&subscribers[i], &endpoints[i % endpoint_count], subscribe_path, ROLE_SUBSCRIBER);
    all[i] = &subscribers[i];
  }
  open_or_bail(&publisher, &publish_at, publish_path, ROLE_PUBLISHER);
  all[subscriber_count] = &publisher;
  until_joined(all, subscriber_count + 1);
  until_heard(all, subscriber_count);
  free(all);
  printf("{\"ready\":%d}\n", subscriber_count);
  fflush(stdout);
  /* idle: answer pings; a command at a time */
  char line[256];
  size_t have = 0;
  for (;;) {
    struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = epfd, .events = POLLIN}};
    if (poll(fds, 2, 1000) < 0 && errno != EINTR) break;
    if (fds[1].revents & POLLIN) service(0);
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
    ssize_t r = read(0, line + have, sizeof line - 1 - have);
    if (r <= 0) break;
    have += (size_t)r;
    line[have] = 0;
    char *end;
    int go = 1;
    while (go && (end = strchr(line, '\n')) != NULL) {
      *end = 0;
      go = command(line);
      have -= (size_t)(end + 1 - line);
      memmove(line, end + 1, have + 1);
    }
    if (!go || have == sizeof line - 1) break;
  }
  for (int i = 0; i < subscriber_count; i++) close_peer(&subscribers[i]);
  close_peer(&publisher);
  return 0;
}
