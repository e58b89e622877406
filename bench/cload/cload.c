/*
 * cload: wsfleet's WebSocket load generator in C, so the client is never what limits a row.
 *
 * One thread, one epoll loop, non-blocking sockets. Client frames are built and masked once before the run
 * (RFC 6455 5.3 wants a fresh mask per frame to protect intermediaries; a loopback benchmark has none and servers do
 * not check it), written from a buffer of back-to-back copies; server frames are counted by a streaming reader that
 * never copies a payload. Latencies go into log-linear buckets (HDR-style: 128 linear sub-buckets per power of two,
 * under 1 % error), printed raw with the counts; bench/lib/cload.js turns them into load.js's JSON.
 *
 * Modes: closed loop (`-p depth` messages in flight per connection, one sent per echo), open loop (`-r rate`
 * messages/s in total, spread evenly; latency runs from when a message was due: wrk2's coordinated-omission fix), or
 * handshakes (`-C`: `-c` loops of connect, opening handshake, one echo, closing handshake, the server closing TCP as
 * RFC 6455 7.1.1 wants, so TIME_WAIT stays on its side; latency runs from connect() to the echo).
 * Lines "measuring" and "measured" on stderr mark the measured window, so the caller can sample the servers' CPU.
 *
 * wss:// (`-t`) when built with -DCLOAD_TLS and OpenSSL (libssl-dev): the same loop through non-blocking SSL_read and
 * SSL_write, one TLS record per write as any client that writes a message at a time; certificates are not verified
 * (the bench's servers use a throw-away self-signed one). `cload -V` says whether this build has TLS.
 *
 * Usage: cload -h host -P port -u path -c conns -w warmup_s -d duration_s -m bytes [-p depth | -r rate | -C] [-b] [-t]
 *
 * `cload -B …` is the broadcast bench's client instead (broadcast.c, bench/broadcast.js --client c).
 */
#include "cload.h"

struct options opt = {"127.0.0.1", "/", NULL, 0, 10, 1, 0, 0, 0, 1, 10, 32, 0};
uint8_t *frame, *batch;
size_t frame_bytes, batch_bytes;
int recording, sending = 1;
uint64_t msgs, bytes_in, in_flight;
uint64_t err_connect, err_closed, err_timeouts, pings;
char last_error[200];
int epfd;

static uint64_t buckets[MAGNITUDES][SUB_BUCKETS];
static uint64_t second_msgs[MAX_SECONDS], second_bytes[MAX_SECONDS];
static int seconds_done;

void record_into(uint64_t into[MAGNITUDES][SUB_BUCKETS], int64_t value) {
  uint64_t v = value < 1 ? 1 : (uint64_t)value;
  int magnitude = 63 - __builtin_clzll(v | (SUB_BUCKETS - 1)) - (SUB_BUCKET_BITS - 1);
  if (magnitude >= MAGNITUDES) magnitude = MAGNITUDES - 1;
  into[magnitude][(v >> magnitude) & (SUB_BUCKETS - 1)] += 1;
}

void record_latency(int64_t ns) { record_into(buckets, ns); }

/* The buckets as a JSON array of [value at the bucket's middle, count]. */
void print_buckets(uint64_t of[MAGNITUDES][SUB_BUCKETS]) {
  putchar('[');
  int first = 1;
  for (int m = 0; m < MAGNITUDES; m++) {
    for (int s = m == 0 ? 0 : SUB_BUCKETS / 2; s < SUB_BUCKETS; s++) {
      if (of[m][s] == 0) continue;
      uint64_t low = (uint64_t)s << m;
      uint64_t mid = low + ((1ULL << m) >> 1);
      printf("%s[%llu,%llu]", first ? "" : ",", (unsigned long long)mid, (unsigned long long)of[m][s]);
      first = 0;
    }
  }
  putchar(']');
}

/* As many open sockets as the hard limit allows: a run holds one per connection. */
void raise_open_files(void) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

int64_t cpu_us(int64_t *system_us) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *system_us = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  return (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + *system_us;
}

static void print_json(int opened, int64_t measured_ns, int64_t cpu, int64_t cpu_system) {
  printf("{\"mode\":\"%s\",\"connectionsOpened\":%d,\"msgs\":%llu,\"bytes\":%llu,\"cpuUs\":%lld,\"cpuSystemUs\":%lld,",
         opt.handshakes ? "connect" : opt.rate > 0 ? "rate" : "echo", opened, (unsigned long long)msgs, (unsigned long long)bytes_in,
         (long long)cpu, (long long)cpu_system);
  printf("\"measuredMs\":%.3f,\"pings\":%llu,\"secondMsgs\":[", measured_ns / 1e6, (unsigned long long)pings);
  for (int i = 0; i < seconds_done; i++) printf("%s%llu", i ? "," : "", (unsigned long long)second_msgs[i]);
  printf("],\"secondBytes\":[");
  for (int i = 0; i < seconds_done; i++) printf("%s%llu", i ? "," : "", (unsigned long long)second_bytes[i]);
  printf("],\"errors\":{\"connect\":%llu,\"closed\":%llu,\"timeouts\":%llu,\"lastMessage\":\"",
         (unsigned long long)err_connect, (unsigned long long)err_closed, (unsigned long long)err_timeouts);
  for (const char *s = last_error; *s; s++)
    if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20) putchar(*s);
  printf("\"},\"latencyNs\":");
  print_buckets(buckets);
  printf("}\n");
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-B") == 0) return broadcast_main(argc - 1, argv + 1);
  int ch;
  while ((ch = getopt(argc, argv, "h:P:u:o:c:w:d:m:p:r:btCV")) != -1) {
    switch (ch) {
      case 'h': opt.host = optarg; break;
      case 'P': opt.port = atoi(optarg); break;
      case 'u': opt.path = optarg; break;
      case 'o': opt.origin = optarg; break;
      case 'c': opt.conns = atoi(optarg); break;
      case 'w': opt.warmup_s = atof(optarg); break;
      case 'd': opt.duration_s = atof(optarg); break;
      case 'm': opt.message_bytes = atol(optarg); break;
      case 'p': opt.depth = atoi(optarg); break;
      case 'r': opt.rate = atol(optarg); break;
      case 'b': opt.binary = 1; break;
      case 't': opt.tls = 1; break;
      case 'C': opt.handshakes = 1; break;
      case 'V': printf("cload %s\n", TLS_BUILD ? "tls" : "plain"); return 0;
      default:
        fprintf(stderr,
                "usage: cload -h host -P port -u path [-o origin] -c conns -w s -d s -m bytes [-p depth | -r rate | -C] [-b] [-t]\n");
        return 2;
    }
  }
  if (opt.tls && !TLS_BUILD) {
    fprintf(stderr, "cload: -t: this build has no TLS (it needs OpenSSL's headers: apt-get install libssl-dev)\n");
    return 2;
  }
#ifdef CLOAD_TLS
  if (opt.tls) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(tls_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* one read() takes what the socket has (not a record header, then its body: three syscalls per echo) */
    SSL_CTX_set_read_ahead(tls_ctx, 1);
  }
#endif
  if (opt.port <= 0 || opt.conns <= 0 || opt.depth <= 0 || opt.message_bytes < 0 || opt.duration_s > MAX_SECONDS) {
    fprintf(stderr, "cload: invalid options\n");
    return 2;
  }
  /* a handshake's message goes out in one write() on a fresh socket, whose send buffer takes at least 4 KiB */
  if (opt.handshakes && (opt.rate > 0 || opt.message_bytes > MAX_HANDSHAKE_MESSAGE)) {
    fprintf(stderr, "cload: -C: one message of at most %d bytes per connection, and no -r\n", MAX_HANDSHAKE_MESSAGE);
    return 2;
  }
  raise_open_files();
  build_frames();
  struct sockaddr_storage addr;
  socklen_t addr_len;
  if (resolve(&addr, &addr_len) < 0) {
    fprintf(stderr, "cload: cannot resolve %s\n", opt.host);
    return 2;
  }
  epfd = epoll_create1(0);
  uint8_t *buf = malloc(READ_BUFFER_BYTES);
  struct conn *conns = calloc((size_t)opt.conns, sizeof(struct conn));
  int opened = 0;
  exchange_target(&addr, addr_len);
  for (int i = 0; i < opt.conns && opt.handshakes; i++) {
    conns[i].head = malloc(HEAD_BYTES);
    exchange_start(&conns[i], now_ns());
  }
  for (int i = 0; i < opt.conns && !opt.handshakes; i++) {
    if (open_conn(&conns[opened], &addr, addr_len, buf) == 0) opened += 1;
    else err_connect += 1;
  }
#ifdef CLOAD_TLS
  for (int i = 0; i < opened; i++) /* what read-ahead took in after the 101 response */
    if (conns[i].ssl && SSL_has_pending(conns[i].ssl)) on_readable(&conns[i], buf);
#endif
  int64_t start = now_ns();
  int64_t interval_ns = opt.rate > 0 && opened > 0 ? (int64_t)(1e9 * opened / opt.rate) : 0;
  for (int i = 0; i < opened; i++) {
    struct conn *c = &conns[i];
    if (opt.rate > 0) {
      c->next_send_at = start + interval_ns * i / opened;
    } else {
      for (int d = 0; d < opt.depth; d++) push_time(c, start);
      send_frames(c, (uint64_t)opt.depth);
    }
  }
  int64_t measure_at = start + (int64_t)(opt.warmup_s * 1e9);
  int64_t end_at = INT64_MAX; /* set when the measured window opens */
  int64_t next_second = 0, measure_started = 0, cpu_start = 0, cpu_system_start = 0;
  uint64_t last_msgs = 0, last_bytes = 0;
  int total_seconds = (int)(opt.duration_s + 0.5);
  struct epoll_event events[256];
  int64_t measured_ns = 0, cpu = 0, cpu_system = 0;
  int64_t drain_until = 0;
  for (;;) {
    int64_t now = now_ns();
    if (!recording && sending && now >= measure_at) {
      recording = 1;
      msgs = bytes_in = 0;
      memset(buckets, 0, sizeof buckets);
      measure_started = now;
      end_at = now + (int64_t)(opt.duration_s * 1e9);
      next_second = now + 1000000000LL;
      cpu_start = cpu_us(&cpu_system_start);
      fprintf(stderr, "measuring\n");
    }
    if (recording && now >= next_second) {
      if (seconds_done < total_seconds) {
        second_msgs[seconds_done] = msgs - last_msgs;
        second_bytes[seconds_done] = bytes_in - last_bytes;
        seconds_done += 1;
      }
      last_msgs = msgs;
      last_bytes = bytes_in;
      next_second += 1000000000LL;
    }
    if (recording && now >= end_at) {
      recording = 0;
      sending = 0;
      measured_ns = now - measure_started;
      int64_t sys_end;
      cpu = cpu_us(&sys_end) - cpu_start;
      cpu_system = sys_end - cpu_system_start;
      fprintf(stderr, "measured\n");
      drain_until = now + DRAIN_NS;
    }
    if (!sending && (in_flight == 0 || now >= drain_until)) break;
    if (opt.rate > 0 && sending) {
      for (int i = 0; i < opened; i++) {
        struct conn *c = &conns[i];
        uint64_t n = 0;
        while (c->next_send_at <= now) {
          push_time(c, c->next_send_at);
          c->next_send_at += interval_ns;
          n += 1;
        }
        if (n > 0 && c->open) send_frames(c, n);
      }
    }
    if (opt.handshakes) exchange_sweep(conns, opt.conns, now);
    int timeout_ms = opt.rate > 0 || !sending ? 1 : opt.handshakes ? 5 : 50;
    int ready = epoll_wait(epfd, events, 256, timeout_ms);
    for (int i = 0; i < ready; i++) {
      struct conn *c = events[i].data.ptr;
      if (!c->open) continue;
      if (c->stage == STAGE_CLOSING) {
        closing_readable(c, buf);
        continue;
      }
      if (opt.handshakes) {
        exchange_event(c, buf, now_ns());
        continue;
      }
      if (events[i].events & EPOLLOUT) flush_out(c);
      if (c->open && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable(c, buf);
    }
  }
  /* load.js --connect counts no exchange left unfinished at the end as an error either */
  err_timeouts = opt.handshakes ? 0 : in_flight;
  for (int i = 0; i < opt.conns; i++)
    if (conns[i].open) close(conns[i].fd);
  closing_close_all();
  print_json(opened, measured_ns, cpu, cpu_system);
  return 0;
}

