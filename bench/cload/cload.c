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
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef CLOAD_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

#define READ_BUFFER_BYTES (256 * 1024)
#define SUB_BUCKET_BITS 7
#define SUB_BUCKETS (1 << SUB_BUCKET_BITS)
#define MAGNITUDES 40 /* ns up to 2^47: days */
#define DRAIN_NS 2000000000LL
#define RATE_BATCH_FRAMES 64
#define MAX_SECONDS 3600
#define HANDSHAKE_TIMEOUT_NS 5000000000LL /* connect to 101, as load.js --connect */
#define BACKOFF_NS 10000000LL              /* after a refused connection, so a dead target is not hammered */
#define HEAD_BYTES 4096
#define MAX_HANDSHAKE_MESSAGE 4000
#ifdef CLOAD_TLS
#define TLS_BUILD 1
#else
#define TLS_BUILD 0
#endif

struct conn {
  int fd;
  int open;
  /* the frame reader: header bytes so far, payload bytes left */
  uint8_t header[14];
  int header_have;
  uint64_t payload_left;
  int in_payload;
  int fin;
  int opcode;
  /* bytes of the endless frame stream still to write, and where in a frame the next write starts */
  uint64_t out_pending;
  uint64_t out_offset;
  int want_out;
  /* send times (ns) of messages in flight, a ring that grows */
  int64_t *times;
  uint32_t times_cap, times_head, times_size;
  int64_t next_send_at;
  /* -C: the stage of this loop's exchange, when it started (or when its back-off ends), the response head so far */
  int stage;
  int64_t started;
  size_t head_have;
  char *head;
  int64_t deadline;
  struct conn *prev, *next; /* -C: the ring of closing connections */
#ifdef CLOAD_TLS
  SSL *ssl;
  size_t tls_retry_len; /* an SSL_write that wanted to wait must be repeated with the same length */
#endif
};

static struct {
  const char *host, *path;
  int port, conns, depth, binary, tls, handshakes;
  double warmup_s, duration_s;
  long message_bytes;
  long rate;
} opt = {"127.0.0.1", "/", 0, 10, 1, 0, 0, 0, 1, 10, 32, 0};

static uint8_t *frame, *batch;
static size_t frame_bytes, batch_bytes;
static uint64_t buckets[MAGNITUDES][SUB_BUCKETS];
static int recording, sending = 1;
static uint64_t msgs, bytes_in, in_flight;
static uint64_t err_connect, err_closed, err_timeouts, pings;
static char last_error[200];
static uint64_t second_msgs[MAX_SECONDS], second_bytes[MAX_SECONDS];
static int seconds_done;
static int epfd;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void record_latency(int64_t ns) {
  uint64_t v = ns < 1 ? 1 : (uint64_t)ns;
  int magnitude = 63 - __builtin_clzll(v | (SUB_BUCKETS - 1)) - (SUB_BUCKET_BITS - 1);
  if (magnitude >= MAGNITUDES) magnitude = MAGNITUDES - 1;
  buckets[magnitude][(v >> magnitude) & (SUB_BUCKETS - 1)] += 1;
}

static void push_time(struct conn *c, int64_t t) {
  if (c->times_size == c->times_cap) {
    uint32_t cap = c->times_cap * 2;
    int64_t *grown = malloc(sizeof(int64_t) * cap);
    for (uint32_t i = 0; i < c->times_size; i++) grown[i] = c->times[(c->times_head + i) % c->times_cap];
    free(c->times);
    c->times = grown;
    c->times_cap = cap;
    c->times_head = 0;
  }
  c->times[(c->times_head + c->times_size) % c->times_cap] = t;
  c->times_size += 1;
}

static int64_t shift_time(struct conn *c) {
  int64_t t = c->times[c->times_head];
  c->times_head = (c->times_head + 1) % c->times_cap;
  c->times_size -= 1;
  return t;
}

static void fail(const char *what) {
  snprintf(last_error, sizeof last_error, "%s: %s", what, strerror(errno));
}

#ifdef CLOAD_TLS
static SSL_CTX *tls_ctx;

static void tls_fail(const char *what) {
  unsigned long code = ERR_get_error();
  char reason[160] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  snprintf(last_error, sizeof last_error, "%s: %s", what, reason);
  ERR_clear_error();
}

/* An SSL_* result as read()/write() would give it: n > 0, 0 at the end of the stream, -1 with errno (EAGAIN to wait). */
static ssize_t tls_result(struct conn *c, int n, const char *what) {
  if (n > 0) return n;
  switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno == 0) return 0;
      return -1;
    default:
      tls_fail(what);
      errno = EPROTO;
      return -1;
  }
}
#endif

static ssize_t conn_read(struct conn *c, void *buf, size_t len) {
#ifdef CLOAD_TLS
  if (c->ssl) return tls_result(c, SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len), "TLS read");
#endif
  return read(c->fd, buf, len);
}

static ssize_t conn_write(struct conn *c, const void *p, size_t len) {
#ifdef CLOAD_TLS
  if (c->ssl) {
    if (c->tls_retry_len > 0) len = c->tls_retry_len;
    if (len > INT32_MAX) len = INT32_MAX;
    ssize_t n = tls_result(c, SSL_write(c->ssl, p, (int)len), "TLS write");
    c->tls_retry_len = n < 0 && errno == EAGAIN ? len : 0;
    return n;
  }
#endif
  return write(c->fd, p, len);
}

static void release_conn(struct conn *c) {
  c->open = 0;
#ifdef CLOAD_TLS
  if (c->ssl) SSL_free(c->ssl);
  c->ssl = NULL;
#endif
  close(c->fd);
}

/* A connection lost while measuring: an error, and its messages in flight will never be answered. */
static void close_conn(struct conn *c) {
  if (!c->open) return;
  if (sending) err_closed += 1;
  in_flight -= c->times_size;
  c->times_size = 0;
  release_conn(c);
}

static void set_out_interest(struct conn *c, int want) {
  if (c->want_out == want) return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = want;
}

/* Writes what the connection owes from the batch buffer, a run of identical frames. */
static void flush_out(struct conn *c) {
  while (c->out_pending > 0) {
    size_t start = c->out_offset % frame_bytes;
    size_t len = batch_bytes - start;
    if (len > c->out_pending) len = c->out_pending;
    ssize_t n = conn_write(c, batch + start, len);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n == 0) snprintf(last_error, sizeof last_error, "closed by the server");
      else if (errno != EPROTO) fail("write");
      close_conn(c);
      return;
    }
    c->out_pending -= (uint64_t)n;
    c->out_offset += (uint64_t)n;
  }
  set_out_interest(c, c->out_pending > 0);
}

static void send_frames(struct conn *c, uint64_t n) {
  in_flight += n;
  c->out_pending += n * frame_bytes;
  flush_out(c);
}

/* Returns how many data messages (FIN frames of opcode 0-2) the chunk completed. */
static uint64_t feed(struct conn *c, const uint8_t *p, size_t len) {
  uint64_t done = 0;
  size_t off = 0;
  while (off < len) {
    if (c->in_payload) {
      uint64_t take = c->payload_left < len - off ? c->payload_left : len - off;
      off += take;
      c->payload_left -= take;
      if (c->payload_left > 0) continue;
      c->in_payload = 0;
    } else {
      if (c->header_have == 0 && len - off >= 2 && (p[off + 1] & 0x7f) < 126) {
        c->opcode = p[off] & 0x0f;
        c->fin = p[off] & 0x80;
        c->payload_left = p[off + 1] & 0x7f;
        off += 2;
      } else {
        c->header[c->header_have++] = p[off++];
        if (c->header_have < 2) continue;
        int len7 = c->header[1] & 0x7f;
        int need = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
        if (c->header_have < need) continue;
        uint64_t length = len7;
        if (len7 == 126) length = ((uint64_t)c->header[2] << 8) | c->header[3];
        if (len7 == 127) {
          length = 0;
          for (int i = 2; i < 10; i++) length = (length << 8) | c->header[i];
        }
        c->opcode = c->header[0] & 0x0f;
        c->fin = c->header[0] & 0x80;
        c->payload_left = length;
        c->header_have = 0;
      }
      if (c->payload_left > 0) {
        c->in_payload = 1;
        continue;
      }
    }
    /* a frame ended */
    if (c->opcode >= 0x8) {
      if (c->opcode == 0x9) pings += 1; /* pings are not answered: the runs are shorter than any idle timeout */
      if (c->opcode == 0x8) c->payload_left = 0;
    } else if (c->fin) {
      done += 1;
    }
  }
  return done;
}

static int resolve(struct sockaddr_storage *addr, socklen_t *addr_len) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
  char port[16];
  snprintf(port, sizeof port, "%d", opt.port);
  if (getaddrinfo(opt.host, port, &hints, &res) != 0) return -1;
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  *addr_len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

#ifdef CLOAD_TLS
/* A TLS client on the connection's socket; the server name goes in SNI unless the host is an address. */
static void tls_attach(struct conn *c) {
  c->ssl = SSL_new(tls_ctx);
  SSL_set_fd(c->ssl, c->fd);
  unsigned char probe[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, opt.host, probe) != 1 && inet_pton(AF_INET6, opt.host, probe) != 1)
    SSL_set_tlsext_host_name(c->ssl, opt.host);
}

/* The TLS handshake on the still-blocking socket. */
static int open_tls(struct conn *c) {
  tls_attach(c);
  if (SSL_connect(c->ssl) == 1) return 0;
  tls_fail("TLS handshake");
  SSL_free(c->ssl);
  c->ssl = NULL;
  return -1;
}
#endif

/* The opening handshake's request (RFC 6455 4.1), its length. */
static int upgrade_request(char *req, size_t cap) {
  return snprintf(req, cap,
                  "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                  opt.path, opt.host, opt.port);
}

/* The response head so far (`have` bytes, room for one more): 1 when it is a whole 101 (its length in *head_bytes),
   0 when more is needed, -1 when refused (last_error says how). */
static int upgrade_answer(char *head, size_t have, size_t *head_bytes) {
  head[have] = 0;
  char *end = strstr(head, "\r\n\r\n");
  if (end == NULL && have < HEAD_BYTES - 1) return 0;
  if (end == NULL || strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
    snprintf(last_error, sizeof last_error, "handshake refused: %.60s", head);
    return -1;
  }
  *head_bytes = (size_t)(end + 4 - head);
  return 1;
}

/* Blocking connect and opening handshake (RFC 6455 4.1); bytes after the 101 response go to the frame reader. */
static int open_conn(struct conn *c, struct sockaddr_storage *addr, socklen_t addr_len, uint8_t *buf) {
  c->fd = socket(addr->ss_family, SOCK_STREAM, 0);
  if (c->fd < 0 || connect(c->fd, (struct sockaddr *)addr, addr_len) < 0) {
    fail("connect");
    if (c->fd >= 0) close(c->fd);
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef CLOAD_TLS
  if (opt.tls && open_tls(c) < 0) {
    close(c->fd);
    return -1;
  }
#endif
  char req[512];
  int n = upgrade_request(req, sizeof req);
  if (conn_write(c, req, n) != n) {
    if (errno != EPROTO) fail("handshake write");
    release_conn(c);
    return -1;
  }
  size_t have = 0, head_bytes = 0;
  int answer = 0;
  while (answer == 0) {
    ssize_t r = conn_read(c, buf + have, HEAD_BYTES - have - 1);
    if (r <= 0) {
      if (r == 0 || errno != EPROTO) snprintf(last_error, sizeof last_error, "closed during handshake");
      release_conn(c);
      return -1;
    }
    have += r;
    answer = upgrade_answer((char *)buf, have, &head_bytes);
  }
  if (answer < 0) {
    release_conn(c);
    return -1;
  }
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  c->open = 1;
  c->times_cap = (uint32_t)(opt.depth * 2 < 16 ? 16 : opt.depth * 2);
  c->times = malloc(sizeof(int64_t) * c->times_cap);
  if (have > head_bytes) feed(c, buf + head_bytes, have - head_bytes);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  return 0;
}

static void on_readable(struct conn *c, uint8_t *buf) {
  for (;;) {
    ssize_t r = conn_read(c, buf, READ_BUFFER_BYTES);
    if (r == 0) {
      snprintf(last_error, sizeof last_error, "closed by the server");
      close_conn(c);
      return;
    }
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno != EPROTO) fail("read");
      close_conn(c);
      return;
    }
    uint64_t n = feed(c, buf, (size_t)r);
    if (recording) bytes_in += (uint64_t)r;
    if (n > 0) {
      int64_t now = now_ns();
      if (n > c->times_size) n = c->times_size; /* never more answers than questions */
      for (uint64_t i = 0; i < n; i++) {
        int64_t sent = shift_time(c);
        if (recording) record_latency(now - sent);
      }
      if (recording) msgs += n;
      in_flight -= n;
      if (opt.rate == 0 && sending) {
        for (uint64_t i = 0; i < n; i++) push_time(c, now);
        send_frames(c, n);
      }
    }
    /* A short read() drained the socket. SSL_read returns a record at a time: go on while OpenSSL holds more, and
       level-triggered epoll reports what is still in the socket. */
#ifdef CLOAD_TLS
    if (c->ssl) {
      if (!SSL_has_pending(c->ssl)) return;
      continue;
    }
#endif
    if ((size_t)r < READ_BUFFER_BYTES) return;
  }
}

/* -C, handshakes: each of the `-c` loops runs one exchange at a time through these stages, non-blocking. */
enum { STAGE_IDLE, STAGE_CONNECTING, STAGE_TLS, STAGE_UPGRADE, STAGE_ECHO, STAGE_BACKOFF, STAGE_CLOSING };

static struct sockaddr_storage target_addr;
static socklen_t target_addr_len;
/* close, status 1000, masked (as load.js's buildCloseFrame) */
static const uint8_t close_frame[] = {0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x03 ^ 0x37, 0xe8 ^ 0xfa};
/* connections handed over after their echo: waiting for the server to close them (a ring with a sentinel) */
static struct conn closing = {.prev = &closing, .next = &closing};

static void exchange_start(struct conn *c, int64_t now);

static void watch_fd(struct conn *c, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(epfd, op, c->fd, &ev);
}

/* An exchange that ended before its echo: a refusal (connect, TLS or opening handshake: counted as a connect error,
   then a back-off) or a connection lost after the handshake (closed). */
static void exchange_failed(struct conn *c, int refused, int64_t now) {
  if (sending) {
    if (refused) err_connect += 1;
    else err_closed += 1;
  }
  release_conn(c);
  in_flight -= 1;
  c->stage = STAGE_BACKOFF;
  c->deadline = now + (refused ? BACKOFF_NS : 0);
}

static void exchange_send_upgrade(struct conn *c, int64_t now) {
  char req[512];
  int n = upgrade_request(req, sizeof req);
  if (conn_write(c, req, n) != n) {
    if (errno != EPROTO) fail("handshake write");
    exchange_failed(c, 1, now);
    return;
  }
  c->stage = STAGE_UPGRADE;
  watch_fd(c, EPOLLIN, EPOLL_CTL_MOD);
}

#ifdef CLOAD_TLS
static void exchange_tls(struct conn *c, int64_t now) {
  int r = SSL_connect(c->ssl);
  if (r == 1) {
    exchange_send_upgrade(c, now);
    return;
  }
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    watch_fd(c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT, EPOLL_CTL_MOD);
    return;
  }
  tls_fail("TLS handshake");
  exchange_failed(c, 1, now);
}
#endif

/* The echo is in: the closing handshake goes out, the socket waits apart for the server to close it, and the loop
   starts its next exchange. */
static void exchange_done(struct conn *c, int64_t now) {
  if (recording) {
    msgs += 1;
    record_latency(now - c->started);
  }
  struct conn *k = calloc(1, sizeof *k);
  k->fd = c->fd;
  k->open = 1;
  k->stage = STAGE_CLOSING;
  k->deadline = now + DRAIN_NS;
#ifdef CLOAD_TLS
  k->ssl = c->ssl;
  c->ssl = NULL;
#endif
  c->open = 0;
  conn_write(k, close_frame, sizeof close_frame);
  k->next = &closing;
  k->prev = closing.prev;
  closing.prev->next = k;
  closing.prev = k;
  watch_fd(k, EPOLLIN, EPOLL_CTL_MOD);
  in_flight -= 1;
  exchange_start(c, now);
}

static void closing_free(struct conn *k) {
  k->prev->next = k->next;
  k->next->prev = k->prev;
  release_conn(k);
  free(k);
}

/* Reads what the server still sends (its close frame) until it closes TCP; its errors are not the run's. */
static void closing_readable(struct conn *k, uint8_t *buf) {
  char kept[sizeof last_error];
  memcpy(kept, last_error, sizeof kept);
  ssize_t r;
  while ((r = conn_read(k, buf, READ_BUFFER_BYTES)) > 0) {
  }
  memcpy(last_error, kept, sizeof kept);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  closing_free(k);
}

/* Bytes of the echo stage; returns 1 when they completed the echo. */
static int exchange_fed(struct conn *c, const uint8_t *p, size_t len) {
  uint64_t n = feed(c, p, len);
  if (recording) bytes_in += len;
  if (n == 0) return 0;
  exchange_done(c, now_ns());
  return 1;
}

static void exchange_start(struct conn *c, int64_t now) {
  c->stage = STAGE_IDLE;
  if (!sending) return;
  in_flight += 1;
  c->started = now;
  c->deadline = now + HANDSHAKE_TIMEOUT_NS;
  c->head_have = c->header_have = c->in_payload = 0;
  c->payload_left = 0;
  c->fd = socket(target_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    fail("socket");
    if (sending) err_connect += 1;
    in_flight -= 1;
    c->stage = STAGE_BACKOFF;
    c->deadline = now + BACKOFF_NS;
    return;
  }
  c->open = 1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&target_addr, target_addr_len) < 0 && errno != EINPROGRESS) {
    fail("connect");
    exchange_failed(c, 1, now);
    return;
  }
  c->stage = STAGE_CONNECTING;
  watch_fd(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void exchange_event(struct conn *c, uint8_t *buf, int64_t now) {
  if (c->stage == STAGE_CONNECTING) {
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) {
      errno = error;
      fail("connect");
      exchange_failed(c, 1, now);
      return;
    }
#ifdef CLOAD_TLS
    if (opt.tls) {
      tls_attach(c);
      c->stage = STAGE_TLS;
      exchange_tls(c, now);
      return;
    }
#endif
    exchange_send_upgrade(c, now);
    return;
  }
#ifdef CLOAD_TLS
  if (c->stage == STAGE_TLS) {
    exchange_tls(c, now);
    return;
  }
#endif
  for (;;) {
    int upgrading = c->stage == STAGE_UPGRADE;
    ssize_t r = upgrading ? conn_read(c, c->head + c->head_have, HEAD_BYTES - c->head_have - 1)
                          : conn_read(c, buf, READ_BUFFER_BYTES);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (r <= 0) {
      if (r == 0) snprintf(last_error, sizeof last_error, upgrading ? "closed during handshake" : "closed by the server");
      else if (errno != EPROTO) fail("read");
      exchange_failed(c, upgrading, now);
      return;
    }
    if (!upgrading) {
      if (exchange_fed(c, buf, (size_t)r)) return;
      continue;
    }
    c->head_have += (size_t)r;
    size_t head_bytes = 0;
    int answer = upgrade_answer(c->head, c->head_have, &head_bytes);
    if (answer == 0) continue;
    if (answer < 0) {
      exchange_failed(c, 1, now);
      return;
    }
    c->stage = STAGE_ECHO;
    c->deadline = now + DRAIN_NS;
    if (conn_write(c, frame, frame_bytes) != (ssize_t)frame_bytes) {
      if (errno != EPROTO) fail("write");
      exchange_failed(c, 0, now);
      return;
    }
    if (c->head_have > head_bytes && exchange_fed(c, (uint8_t *)c->head + head_bytes, c->head_have - head_bytes))
      return;
  }
}

/* Back-offs that ended, handshakes and echoes past their time, closing connections the server never closed. */
static void exchange_sweep(struct conn *conns, int count, int64_t now) {
  for (int i = 0; i < count; i++) {
    struct conn *c = &conns[i];
    if (c->stage == STAGE_IDLE || now < c->deadline) continue;
    if (c->stage == STAGE_BACKOFF) {
      exchange_start(c, now);
    } else {
      int echoing = c->stage == STAGE_ECHO;
      snprintf(last_error, sizeof last_error, echoing ? "no echo within %lld ms" : "handshake timeout after %lld ms",
               (echoing ? DRAIN_NS : HANDSHAKE_TIMEOUT_NS) / 1000000);
      exchange_failed(c, !echoing, now);
    }
  }
  while (closing.next != &closing && now >= closing.next->deadline) closing_free(closing.next);
}

static void build_frames(void) {
  size_t len = (size_t)opt.message_bytes;
  size_t header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  frame_bytes = header + 4 + len;
  frame = malloc(frame_bytes);
  frame[0] = 0x80 | (opt.binary ? 0x2 : 0x1);
  if (len < 126) {
    frame[1] = 0x80 | len;
  } else if (len < 65536) {
    frame[1] = 0x80 | 126;
    frame[2] = len >> 8;
    frame[3] = len & 0xff;
  } else {
    frame[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) frame[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
  }
  uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  memcpy(frame + header, mask, 4);
  for (size_t i = 0; i < len; i++) frame[header + 4 + i] = (uint8_t)(0x61 + i % 26) ^ mask[i & 3];
  /* enough copies for a batch, plus one so a write may start anywhere inside the first frame */
  size_t copies = (size_t)(opt.rate > 0 ? RATE_BATCH_FRAMES : opt.depth) + 1;
  if (copies * frame_bytes < 64 * 1024) copies = 64 * 1024 / frame_bytes + 1;
  batch_bytes = copies * frame_bytes;
  batch = malloc(batch_bytes);
  for (size_t i = 0; i < copies; i++) memcpy(batch + i * frame_bytes, frame, frame_bytes);
}

static int64_t cpu_us(int64_t *system_us) {
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
  /* buckets as [ns at the bucket's middle, count] */
  printf("\"},\"latencyNs\":[");
  int first = 1;
  for (int m = 0; m < MAGNITUDES; m++) {
    for (int s = m == 0 ? 0 : SUB_BUCKETS / 2; s < SUB_BUCKETS; s++) {
      if (buckets[m][s] == 0) continue;
      uint64_t low = (uint64_t)s << m;
      uint64_t mid = low + ((1ULL << m) >> 1);
      printf("%s[%llu,%llu]", first ? "" : ",", (unsigned long long)mid, (unsigned long long)buckets[m][s]);
      first = 0;
    }
  }
  printf("]}\n");
}

int main(int argc, char **argv) {
  int ch;
  while ((ch = getopt(argc, argv, "h:P:u:c:w:d:m:p:r:btCV")) != -1) {
    switch (ch) {
      case 'h': opt.host = optarg; break;
      case 'P': opt.port = atoi(optarg); break;
      case 'u': opt.path = optarg; break;
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
                "usage: cload -h host -P port -u path -c conns -w s -d s -m bytes [-p depth | -r rate | -C] [-b] [-t]\n");
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
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
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
  target_addr = addr;
  target_addr_len = addr_len;
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
  while (closing.next != &closing) closing_free(closing.next);
  print_json(opened, measured_ns, cpu, cpu_system);
  return 0;
}
